//! A report in headless Chromium (Debian's `chromium`, which
//! `scripts/setup.sh` installs): it loads with no console error and no
//! outside reference, every image decodes, the item filters change what is
//! shown, and a screenshot is not blank. The demo test calls it on the
//! demo's report, so the demo runs once.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium to drive: `MAFLOW_CHROMIUM`, else `chromium` or `chromium-browser` on the path.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("MAFLOW_CHROMIUM") {
        return path.into();
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!(
        "no Chromium found: `bash scripts/setup.sh` installs Debian's `chromium` (or set MAFLOW_CHROMIUM)"
    );
}

/// Runs headless Chromium on `page` with `args`; returns stdout and stderr.
fn headless(page: &Path, args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Probes the page once it has loaded: images, and the filters set to SAD, then SAD and wrong.
const PROBE: &str = "<script>window.addEventListener('load',function(){\
    var imgs=[].slice.call(document.images),r={images:imgs.length};\
    r.broken=imgs.filter(function(i){return !(i.complete&&i.naturalWidth>0);}).length;\
    function shown(){return document.querySelectorAll('details.item:not([hidden])').length;}\
    function pick(id,v){var s=document.getElementById(id);s.value=v;s.dispatchEvent(new Event('change',{bubbles:true}));}\
    r.all=shown();pick('f-task','SAD');r.sad=shown();pick('f-outcome','wrong');r.sad_wrong=shown();\
    pick('f-task','');pick('f-outcome','');r.again=shown();\
    var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify(r);document.body.appendChild(p);});</script>";

/// Checks the report at `html` in a browser; `items` is how many items it lists.
pub fn check_report(html: &Path, items: usize) {
    let text = std::fs::read_to_string(html).unwrap();
    for outside in [
        "src=\"http",
        "src=\"//",
        "href=\"http",
        "href=\"//",
        "url(http",
        "url(//",
        "@import",
    ] {
        assert!(
            !text.contains(outside),
            "the report refers outside itself ({outside})"
        );
    }
    // Beside the report, so that its links to the pictures resolve.
    let probed = html.with_file_name("report.probed.html");
    std::fs::write(&probed, text.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let (dom, log) = headless(&probed, &["--virtual-time-budget=10000", "--dump-dom"]);
    std::fs::remove_file(&probed).unwrap();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("CONSOLE")
                && (l.contains("Uncaught") || l.contains("Error") || l.contains("error"))
        })
        .collect();
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let r: serde_json::Value =
        serde_json::from_str(&dom[start..end].replace("&quot;", "\"")).unwrap();
    assert!(r["images"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["broken"], 0, "every image decodes: {r}");
    assert_eq!(r["all"], items, "every listed item is shown at first: {r}");
    let (all, sad, sad_wrong) = (
        r["all"].as_u64().unwrap(),
        r["sad"].as_u64().unwrap(),
        r["sad_wrong"].as_u64().unwrap(),
    );
    assert!(
        sad > 0 && sad < all,
        "the task filter narrows the items: {r}"
    );
    assert!(sad_wrong <= sad, "{r}");
    assert_eq!(
        r["again"], r["all"],
        "clearing the filters shows every item again: {r}"
    );

    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("shot.png");
    headless(
        html,
        &[
            "--window-size=1400,1000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    let inked = pixels
        .chunks(info.color_type.samples())
        .filter(|p| p.iter().take(3).any(|c| *c < 200))
        .count();
    let total = pixels.len() / info.color_type.samples();
    assert!(
        inked * 100 > total,
        "the screenshot is (nearly) blank: {inked} of {total} pixels inked"
    );
}

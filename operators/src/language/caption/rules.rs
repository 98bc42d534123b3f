//! The embedded captioner: one hierarchical, data-based caption per part,
//! from the descriptor alone.
//!
//! First sentence: overall trajectory and magnitude over the clip and the
//! main periods of motion in seconds. Then the dynamics within them: the
//! direction phases with their speeds in px/frame, reversals and
//! repetition, where the speed peaks and whether it grows or fades. Only
//! what the numbers say; seconds, never frame numbers; vy > 0 is up. What
//! counts as moving, and how strongly, is the clip's facts' call.

use crate::common::body::PARTS;
use crate::common::motion_summary::{PartSummary, compass};
use crate::language::clip_motion::{ClipMotion, join, secs, spoken};
use crate::language::facts::{ClipFacts, Verdict, opposite};

/// The caption of part `i`, from its motion and the clip's facts (which decide what counts as moving).
pub fn caption(m: &ClipMotion, f: &ClipFacts, i: usize) -> String {
    let s = m.part(i);
    if s.active_periods.is_empty() {
        return still_caption(m, f, i);
    }
    let mut text = overview(m, f, i);
    text.push_str(&dynamics(s));
    text.push_str(&peak(m, f, i));
    text
}

/// A part without a sustained period of motion: still, or moving slightly
/// where a phase's mean speed says so.
fn still_caption(m: &ClipMotion, f: &ClipFacts, i: usize) -> String {
    let part = spoken(PARTS[i]);
    let s = m.part(i);
    let dur = secs(m.seconds());
    let noticed: Vec<String> = f
        .phases
        .iter()
        .filter(|p| p.parts[i].moves == Verdict::Yes)
        .map(|p| {
            format!(
                "the {} phase ({:.2} px/frame)",
                p.name, p.parts[i].mean_speed
            )
        })
        .collect();
    if noticed.is_empty() {
        return format!(
            "The {part} stays nearly still over the {dur} s clip: its speed never holds above the noise level \
             (peak {:.1} px/frame) and it travels {:.1} px in all.",
            s.peak_speed, s.path_length
        );
    }
    format!(
        "The {part} moves slightly over the {dur} s clip, without a sustained period above the noise level \
         (peak {:.1} px/frame), but noticeably on average in {}; it travels {:.1} px in all.",
        s.peak_speed,
        join(&noticed),
        s.path_length
    )
}

/// The first sentence: trajectory, magnitude and the main periods of motion.
fn overview(m: &ClipMotion, f: &ClipFacts, i: usize) -> String {
    let part = spoken(PARTS[i]);
    let s = m.part(i);
    let v = &m.vectors[i];
    let dur = secs(m.seconds());
    let (sum_x, sum_y) = v.iter().fold((0f64, 0f64), |(x, y), p| {
        (x + f64::from(p[0].abs()), y + f64::from(p[1].abs()))
    });
    let share_x = sum_x / (sum_x + sum_y).max(1e-9);
    let axis = if share_x > 0.65 {
        "mainly horizontally (left and right)"
    } else if share_x < 0.35 {
        "mainly vertically (up and down)"
    } else {
        "both horizontally and vertically"
    };
    let magnitude = &f.parts[i].magnitude;
    let [nx, ny] = s.net_displacement;
    let net = nx.hypot(ny);
    let net_words = if net < f.thresholds.return_px {
        "ending close to where it started".to_string()
    } else {
        format!(
            "ending {net:.1} px {} of its start",
            compass(nx as f32, ny as f32)
        )
    };
    let periods: Vec<String> = s
        .active_periods
        .iter()
        .map(|[a, b]| format!("{}–{} s", secs(*a), secs(*b)))
        .collect();
    format!(
        "The {part} moves {magnitude} and {axis} over the {dur} s clip, travelling {:.1} px and {net_words}; \
         its main motion is in {}.",
        s.path_length,
        join(&periods)
    )
}

/// The direction phases in order, with reversals and repetition.
fn dynamics(s: &PartSummary) -> String {
    let mut text = String::new();
    if s.phases.is_empty() {
        text.push_str(&format!(" Within it the direction keeps changing without a steady course, at {:.1} px/frame on average.", s.mean_speed));
    } else {
        let shown = &s.phases[..s.phases.len().min(6)];
        let mut steps = Vec::new();
        for (k, p) in shown.iter().enumerate() {
            let verb = match k {
                0 => format!("from {} s it moves {}", secs(p.start), p.direction),
                _ if opposite(&shown[k - 1].direction, &p.direction) => {
                    format!("reverses to {} at {} s", p.direction, secs(p.start))
                }
                _ => format!("turns {} at {} s", p.direction, secs(p.start)),
            };
            steps.push(format!("{verb} ({:.1} px/frame)", p.mean_speed));
        }
        let mut first = steps.remove(0);
        first[..1].make_ascii_uppercase();
        text.push(' ');
        text.push_str(&first);
        if !steps.is_empty() {
            text.push_str(", then ");
            text.push_str(&join(&steps));
        }
        if s.phases.len() > shown.len() {
            text.push_str(&format!(
                ", and {} more direction changes follow",
                s.phases.len() - shown.len()
            ));
        }
        text.push('.');
        let reversals = s
            .phases
            .windows(2)
            .filter(|w| opposite(&w[0].direction, &w[1].direction))
            .count();
        if reversals >= 2 {
            text.push_str(&format!(
                " The motion is repetitive: it reverses direction {reversals} times between {} and {}.",
                s.phases[0].direction, s.phases[1].direction
            ));
        } else if s.phases.len() == 1 {
            text.push_str(" It is a single movement in one direction.");
        }
    }
    text
}

/// Where the speed peaks, and whether it grows or fades over the first period.
fn peak(m: &ClipMotion, f: &ClipFacts, i: usize) -> String {
    let s = m.part(i);
    let v = &m.vectors[i];
    let speeds: Vec<f64> = v.iter().map(|p| f64::from(p[0].hypot(p[1]))).collect();
    let (t_peak, _) =
        speeds.iter().enumerate().fold(
            (0, 0f64),
            |best, (t, &sp)| if sp > best.1 { (t, sp) } else { best },
        );
    let [a, b] = s.active_periods[0];
    let (fa, fb) = (
        (a * m.fps).round() as usize,
        ((b * m.fps).round() as usize).min(speeds.len().saturating_sub(1)),
    );
    let trend = if fb > fa + 3 {
        let mid = (fa + fb) / 2;
        let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len().max(1) as f64;
        let (early, late) = (mean(&speeds[fa..=mid]), mean(&speeds[mid + 1..=fb]));
        if late > early * 1.3 && late > f.thresholds.yes_speed {
            format!(", and it speeds up over its first period ({early:.1} → {late:.1} px/frame)")
        } else if early > late * 1.3 && early > f.thresholds.yes_speed {
            format!(", and it slows down over its first period ({early:.1} → {late:.1} px/frame)")
        } else {
            ", at a fairly steady pace over its first period".to_string()
        }
    } else {
        String::new()
    };
    let vp = v[t_peak];
    format!(
        " Its speed peaks at {:.1} px/frame around {} s, heading {}{trend}.",
        s.peak_speed,
        secs(t_peak as f64 / m.fps),
        compass(vp[0], vp[1])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::body::PART_COUNT;
    use crate::common::motion_summary::{SummaryParams, summarise};
    use crate::language::facts::{Thresholds, facts};

    fn motion(head: Vec<[f32; 2]>) -> ClipMotion {
        let n = head.len();
        let mut vectors = vec![vec![[0.0f32, 0.0]; n]; PART_COUNT];
        vectors[0] = head;
        let coords = vec![vec![[0.5f32, 0.5]; n]; PART_COUNT];
        let p = SummaryParams {
            noise_floor: 0.3,
            relative_threshold: 0.3,
            merge_gap: 0.2,
            min_period: 0.1,
        };
        let summary = summarise(&vectors, &coords, 1080, 1296, 30.0, &p);
        ClipMotion {
            fps: 30.0,
            num_frames: n,
            width: 1080,
            height: 1296,
            vectors,
            coords,
            summary,
        }
    }

    #[test]
    fn a_nod_reads_as_repeated_vertical_motion_in_seconds() {
        let mut head = vec![[0.0f32, 0.0]; 60];
        for (t, v) in head.iter_mut().enumerate().take(35).skip(15) {
            *v = [0.0, if (t - 15) / 5 % 2 == 0 { 2.0 } else { -2.0 }];
        }
        let m = motion(head);
        let f = facts(&m, &Thresholds::default());
        let text = caption(&m, &f, 0);
        assert!(
            text.starts_with("The head moves moderately and mainly vertically"),
            "{text}"
        );
        assert!(text.contains("0.5–1.1 s"), "{text}");
        assert!(
            text.contains("From 0.5 s it moves up (2.0 px/frame)"),
            "{text}"
        );
        assert!(text.contains("reverses to down at 0.7 s"), "{text}");
        assert!(
            text.contains("repetitive: it reverses direction 3 times"),
            "{text}"
        );
        assert!(
            !text.contains(" frame ") && !text.contains("nervous"),
            "{text}"
        );
        let still = caption(&m, &f, 13);
        assert!(
            still.starts_with("The right foot stays nearly still over the 2.0 s clip"),
            "{still}"
        );
    }
}

//! `contact-sheet` sink: a PNG grid of frames sampled uniformly from each clip,
//! so a person can see what was decoded.
//!
//! Thumbnails are shrunk by area averaging as frames stream by; only the
//! sampled thumbnails are kept, so memory does not grow with clip length.

use maflow_kernels::resize::{ImageView, resize_area};

use crate::common::picture_grid::{Grid, sample_indices};
use crate::prelude::*;

/// Writes `<out>/<spec>/<id>/<clip>.png`: a grid of frames sampled evenly over each clip.
/// The PNG's text chunks name the clip and the sampled frame indices.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactSheetConfig {
    /// Frames sampled per clip, evenly from first to last.
    #[default(8)]
    pub frames: usize,
    /// Thumbnails per row.
    #[default(4)]
    pub columns: usize,
    /// Thumbnail width in pixels (height keeps the aspect ratio).
    #[default(216)]
    pub thumb_width: u32,
    /// Pixels between thumbnails.
    #[default(4)]
    pub gap: u32,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "contact-sheet",
    section: Section::Sinks,
    version: 1,
    doc: ContactSheetConfig::DOC,
    inputs: &[Port::new("frames", PortType::Frames)
        .hint("connect it to a frame producer such as `decode`")],
    output: None,
    params: ContactSheetConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: ContactSheetConfig = parse_params(params)?;
    let mut errors = Vec::new();
    if !(1..=256).contains(&config.frames) {
        errors.push(param_error(
            params,
            "frames",
            "`frames` must be between 1 and 256",
        ));
    }
    if config.columns == 0 {
        errors.push(param_error(
            params,
            "columns",
            "`columns` must be at least 1",
        ));
    }
    if !(8..=2048).contains(&config.thumb_width) {
        errors.push(param_error(
            params,
            "thumb_width",
            "`thumb_width` must be between 8 and 2048",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Built::new(
        &config,
        Runtime::FrameConsumer(Arc::new(ContactSheet {
            config: config.clone(),
        })),
    ))
}

struct ContactSheet {
    config: ContactSheetConfig,
}

impl FrameConsumer for ContactSheet {
    fn start(&self, clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        let thumb_w = self.config.thumb_width.min(info.width).max(1);
        let thumb_h =
            ((f64::from(thumb_w) * f64::from(info.height) / f64::from(info.width)).round() as u32)
                .max(1);
        Ok(Box::new(SheetTask {
            config: self.config.clone(),
            clip: clip.id.clone(),
            targets: info
                .declared_frames
                .map(|n| sample_indices(n, self.config.frames)),
            stride: 1,
            thumbs: Vec::new(),
            thumb_size: (thumb_w, thumb_h),
            format: None,
        }))
    }
}

struct SheetTask {
    config: ContactSheetConfig,
    clip: String,
    /// Frames to keep when the frame count is known in advance.
    targets: Option<Vec<u64>>,
    /// Otherwise: keep every `stride`-th frame, doubling the stride when the buffer fills.
    stride: u64,
    thumbs: Vec<(u64, Vec<u8>)>,
    thumb_size: (u32, u32),
    format: Option<PixelFormat>,
}

impl FrameTask for SheetTask {
    fn push(
        &mut self,
        frame: &Frame,
        _inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        let keep = match &self.targets {
            Some(t) => t.binary_search(&frame.index).is_ok(),
            None => frame.index.is_multiple_of(self.stride),
        };
        if !keep {
            return Ok(None);
        }
        self.format = Some(frame.format);
        let channels = frame.format.channels();
        let view = ImageView {
            data: &frame.data,
            width: frame.width as usize,
            height: frame.height as usize,
            stride: frame.width as usize * channels,
            channels,
        };
        let thumb = resize_area(view, self.thumb_size.0 as usize, self.thumb_size.1 as usize);
        self.thumbs.push((frame.index, thumb));
        if self.targets.is_none() && self.thumbs.len() > 4 * self.config.frames {
            self.stride *= 2;
            self.thumbs.retain(|(i, _)| i.is_multiple_of(self.stride));
        }
        Ok(None)
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        let format = self.format.ok_or("no frames to sample")?;
        let picks: Vec<&(u64, Vec<u8>)> = match self.targets {
            Some(_) => self.thumbs.iter().collect(),
            None => sample_indices(self.thumbs.len() as u64, self.config.frames)
                .into_iter()
                .map(|i| &self.thumbs[i as usize])
                .collect(),
        };
        let (tw, th) = (self.thumb_size.0 as usize, self.thumb_size.1 as usize);
        let thumbs: Vec<&[u8]> = picks.iter().map(|(_, t)| t.as_slice()).collect();
        let grid = Grid {
            thumb: (tw, th),
            channels: format.channels(),
            columns: self.config.columns,
            gap: self.config.gap as usize,
        };
        let (canvas, w, h) = grid.tile(&thumbs);
        let indices: Vec<u64> = picks.iter().map(|(i, _)| *i).collect();
        let png = encode_png(&canvas, w as u32, h as u32, format, &self.clip, &indices)
            .map_err(|e| e.to_string())?;
        let record = serde_json::json!({
            "frames": indices,
            "width": w,
            "height": h,
            "thumb": [tw, th],
        });
        Ok(Output {
            record,
            blobs: vec![Blob {
                ext: "png".into(),
                bytes: png,
            }],
            pictures: None,
        })
    }
}

fn encode_png(
    pixels: &[u8],
    width: u32,
    height: u32,
    format: PixelFormat,
    clip: &str,
    indices: &[u64],
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(match format {
            PixelFormat::Gray => png::ColorType::Grayscale,
            PixelFormat::Rgb => png::ColorType::Rgb,
        });
        encoder.set_depth(png::BitDepth::Eight);
        encoder.add_text_chunk("Title".into(), format!("maflow contact sheet: {clip}"))?;
        let list: Vec<String> = indices.iter().map(u64::to_string).collect();
        encoder.add_text_chunk("Frames".into(), list.join(","))?;
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: u64, value: u8) -> Frame {
        Frame {
            index,
            time: index as f64 / 30.0,
            width: 40,
            height: 20,
            format: PixelFormat::Gray,
            data: vec![value; 800],
        }
    }

    fn run(declared: Option<u64>, n: u64) -> (serde_json::Value, Vec<u8>) {
        let sheet = ContactSheet {
            config: ContactSheetConfig {
                frames: 4,
                columns: 2,
                thumb_width: 10,
                gap: 1,
            },
        };
        let info = VideoInfo {
            width: 40,
            height: 20,
            fps: 30.0,
            declared_frames: declared,
            codec: "t".into(),
        };
        let clip = Clip {
            id: "c".into(),
            path: "c.mp4".into(),
            label: None,
            label_name: None,
            participant: None,
            split: None,
            given: None,
        };
        let mut task = sheet.start(&clip, &info).unwrap();
        for i in 0..n {
            task.push(&frame(i, (i * 2) as u8), &FrameInputs::none())
                .unwrap();
        }
        let out = task.finish().unwrap();
        (out.record, out.blobs[0].bytes.clone())
    }

    #[test]
    fn grid_holds_the_sampled_frames_with_or_without_a_declared_count() {
        let (record, png_bytes) = run(Some(100), 100);
        assert_eq!(record["frames"], serde_json::json!([0, 33, 66, 99]));
        assert_eq!(
            (record["width"].as_u64(), record["height"].as_u64()),
            (Some(23), Some(13))
        );
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (23, 13));
        // Top-left thumbnail is frame 0 (value 0), the one right of it frame 33 (value 66).
        assert_eq!(buf[23 + 1], 0);
        assert_eq!(buf[23 + 12], 66);
        let (record, _) = run(None, 1000);
        let frames: Vec<u64> = serde_json::from_value(record["frames"].clone()).unwrap();
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[0], 0);
        assert!(frames[3] >= 900, "{frames:?}");
    }
}

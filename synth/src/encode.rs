//! Writing RGB frames as an H.264 mp4 (yuv420p, like MA-52's clips).

use std::path::Path;

use ffmpeg::{Dictionary, Rational, codec, encoder, format, software::scaling};
use ffmpeg_next as ffmpeg;

/// An open mp4 being written, one RGB frame at a time.
pub struct Mp4Writer {
    output: format::context::Output,
    encoder: encoder::Video,
    scaler: scaling::Context,
    stream_time_base: Rational,
    frame_time_base: Rational,
    next_pts: i64,
    width: u32,
    height: u32,
}

fn fail(what: &str, e: ffmpeg::Error) -> String {
    format!("{what}: {e}")
}

impl Mp4Writer {
    /// Creates `path` for `width × height` frames at `fps` (whole frames per second),
    /// encoded with x264 at constant quality `crf` (lower is better; 0 is lossless).
    pub fn create(
        path: &Path,
        width: u32,
        height: u32,
        fps: u32,
        crf: u32,
    ) -> Result<Self, String> {
        maflow_operators::frame::decode::init_ffmpeg();
        let mut output = format::output(path)
            .map_err(|e| fail(&format!("cannot create {}", path.display()), e))?;
        let codec = encoder::find_by_name("libx264").ok_or("this FFmpeg has no libx264 encoder")?;
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);
        let mut video = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| fail("encoder", e))?;
        video.set_width(width);
        video.set_height(height);
        video.set_format(format::Pixel::YUV420P);
        let frame_time_base = Rational::new(1, fps as i32);
        video.set_time_base(frame_time_base);
        video.set_frame_rate(Some(Rational::new(fps as i32, 1)));
        if global_header {
            video.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        options.set("crf", &crf.to_string());
        options.set("preset", "medium");
        // No B-frames: decode order is display order and no frame is lost to an edit list.
        options.set("x264-params", "bframes=0");
        // One thread: identical bytes on every machine.
        options.set("threads", "1");
        let encoder = video
            .open_with(options)
            .map_err(|e| fail("cannot open x264", e))?;
        let mut stream = output.add_stream(codec).map_err(|e| fail("stream", e))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(frame_time_base);
        // Without an edit list: the muxer's list would cut the last frame's duration, and
        // decoders would drop that frame.
        let mut muxer = Dictionary::new();
        muxer.set("use_editlist", "0");
        output
            .write_header_with(muxer)
            .map_err(|e| fail("mp4 header", e))?;
        let stream_time_base = output.stream(0).expect("one stream").time_base();
        let scaler = scaling::Context::get(
            format::Pixel::RGB24,
            width,
            height,
            format::Pixel::YUV420P,
            width,
            height,
            scaling::Flags::BICUBIC,
        )
        .map_err(|e| fail("colour conversion", e))?;
        Ok(Self {
            output,
            encoder,
            scaler,
            stream_time_base,
            frame_time_base,
            next_pts: 0,
            width,
            height,
        })
    }

    /// Appends one frame of tightly packed RGB.
    pub fn push(&mut self, rgb: &[u8]) -> Result<(), String> {
        let (w, h) = (self.width as usize, self.height as usize);
        assert_eq!(rgb.len(), w * h * 3, "frame size");
        let mut src = ffmpeg::frame::Video::new(format::Pixel::RGB24, self.width, self.height);
        let stride = src.stride(0);
        for (y, row) in rgb.chunks_exact(w * 3).enumerate() {
            src.data_mut(0)[y * stride..y * stride + w * 3].copy_from_slice(row);
        }
        let mut yuv = ffmpeg::frame::Video::empty();
        self.scaler
            .run(&src, &mut yuv)
            .map_err(|e| fail("colour conversion", e))?;
        yuv.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        self.encoder
            .send_frame(&yuv)
            .map_err(|e| fail("encode", e))?;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), String> {
        let mut packet = ffmpeg::Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts(self.frame_time_base, self.stream_time_base);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| fail("write", e))?;
        }
        Ok(())
    }

    /// Flushes the encoder and closes the file.
    pub fn finish(mut self) -> Result<(), String> {
        self.encoder.send_eof().map_err(|e| fail("encode", e))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(|e| fail("mp4 trailer", e))
    }
}

//! The One Euro filter: adaptive low-pass smoothing of noisy tracks.
//!
//! At rest the cut-off frequency is `min_cutoff` and jitter is removed; as
//! the signal's speed grows the cut-off rises by `beta` × speed, so real
//! motion is followed with little lag (Casiez, Roussel and Vogel, CHI 2012).

use std::f32::consts::PI;

/// Settings of a One Euro filter.
#[maflow_engine::params::configurable]
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneEuro {
    /// Cut-off (Hz) at rest: lower removes more jitter.
    #[example("0.05")]
    pub min_cutoff: f32,
    /// Speed coefficient: higher follows fast motion with less lag.
    #[example("80.0")]
    pub beta: f32,
    /// Cut-off (Hz) of the speed estimate.
    #[example("1.0")]
    pub d_cutoff: f32,
}

/// The state of one filtered value.
#[derive(Clone, Copy, Debug, Default)]
pub struct OneEuroState {
    last: Option<(f32, f32)>,
}

fn alpha(cutoff: f32, dt: f32) -> f32 {
    let tau = 1.0 / (2.0 * PI * cutoff);
    1.0 / (1.0 + tau / dt)
}

impl OneEuroState {
    /// Filters `x`, sampled `dt` seconds after the previous value; values
    /// and speeds are divided by `scale` first, so the settings do not
    /// depend on how large the object appears.
    pub fn filter(&mut self, f: &OneEuro, x: f32, dt: f32, scale: f32) -> f32 {
        let x = x / scale;
        let out = match self.last {
            None => {
                self.last = Some((x, 0.0));
                x
            }
            Some((prev, prev_dx)) => {
                let dx = (x - prev) / dt;
                let dx = prev_dx + alpha(f.d_cutoff, dt) * (dx - prev_dx);
                let cutoff = f.min_cutoff + f.beta * dx.abs();
                let y = prev + alpha(cutoff, dt) * (x - prev);
                self.last = Some((y, dx));
                y
            }
        };
        out * scale
    }

    /// Forgets the past (after tracking is lost).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: OneEuro = OneEuro {
        min_cutoff: 1.0,
        beta: 5.0,
        d_cutoff: 1.0,
    };

    #[test]
    fn a_constant_passes_unchanged() {
        let mut s = OneEuroState::default();
        for _ in 0..10 {
            assert!((s.filter(&F, 3.0, 1.0 / 30.0, 1.0) - 3.0).abs() < 1e-6);
        }
    }

    #[test]
    fn jitter_shrinks_and_a_step_is_followed() {
        let mut s = OneEuroState::default();
        let mut out = Vec::new();
        for i in 0..60 {
            let noise = if i % 2 == 0 { 0.01 } else { -0.01 };
            out.push(s.filter(&F, noise, 1.0 / 30.0, 1.0));
        }
        let spread = out[30..].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(spread < 0.006, "jitter {spread}");
        let mut last = 0.0;
        for _ in 0..30 {
            last = s.filter(&F, 1.0, 1.0 / 30.0, 1.0);
        }
        assert!(last > 0.95, "a held step is reached: {last}");
    }
}

//! Whether a description agrees with a clip's closed claims: what the text
//! states, read mechanically, against what each claim says.
//!
//! The reader splits the text into sentences (each tied to the phases it
//! names, or to the whole clip) and clauses (at `,`, `;` and `while`; a
//! clause without a verb after "approaches the head" continues its list). In a
//! clause it finds the parts named (the ones before the first verb are its
//! subjects; "the legs", "the arms", "the hands" and "the feet" name each of
//! their parts), the directions (words and verbs: "rises" is up, "drops" is
//! down), stillness ("still", "does not move", "no part moves", "the rest
//! stays still"), "only slightly", approach and moving away (a hand that
//! retracts toward or extends away from the torso), and times ("at 0.4 s").
//! A claim about a phase is held against the sentences of that phase only,
//! and a claim about the whole clip against the sentences that name no
//! phase. A sentence of order ("First the head rises, then the right hand
//! drops") orders its clauses as written, and says nothing of the whole clip.
//!
//! Two questions: does the text contradict a claim's answer (a part said to
//! move a way that an item says it does not, "no part moves" where an item
//! says one does, an order opposite to a MAS item's), and does it state
//! what a "yes" claim asserts (its parts, phase and direction).

use super::clip_motion::spoken;
use super::facts::WHOLE;
use super::qa::claims::Claim;
use crate::common::body::PARTS;

/// One clause: what it says, about which parts.
#[derive(Clone, Debug, Default)]
struct Clause {
    /// As written.
    text: String,
    /// Parts named before the first verb (what the clause is about).
    subjects: Vec<usize>,
    /// Parts named after it.
    objects: Vec<usize>,
    /// Directions named: up, right, down, left.
    ways: Vec<&'static str>,
    /// Says its subjects are still.
    still: bool,
    /// Says its subjects move only slightly.
    slight: bool,
    /// Says nothing moves.
    none_moves: bool,
    /// Says every part not named otherwise is still.
    rest_still: bool,
    approach: bool,
    away: bool,
    /// Times named, in seconds.
    times: Vec<f64>,
    /// Has a verb (a clause without one may continue a list).
    has_verb: bool,
}

impl Clause {
    fn moving(&self, part: usize) -> bool {
        self.subjects.contains(&part) && !self.still && !self.slight
    }
}

#[derive(Clone, Debug)]
struct Sentence {
    text: String,
    /// Phases named; empty: the whole clip.
    phases: Vec<&'static str>,
    /// A sentence of order ("first …, then …"): its clauses are in the order the motions begin.
    order: bool,
    clauses: Vec<Clause>,
}

/// A description, read.
#[derive(Clone, Debug)]
pub struct Reading {
    sentences: Vec<Sentence>,
}

/// A disagreement between the text and a claim.
#[derive(Clone, Debug, PartialEq)]
pub struct Contradiction {
    /// The sentence, as written.
    pub sentence: String,
    /// The clause that says it.
    pub clause: String,
    /// What it contradicts.
    pub why: String,
}

/// The contradiction found at `(s, c)`.
fn found((s, c): (&Sentence, &Clause), why: String) -> Option<Contradiction> {
    Some(Contradiction {
        sentence: s.text.clone(),
        clause: c.text.clone(),
        why,
    })
}

const VERBS: [&str; 40] = [
    "move",
    "moves",
    "moving",
    "moved",
    "approach",
    "approaches",
    "approaching",
    "comes",
    "come",
    "stays",
    "stay",
    "remains",
    "remain",
    "is",
    "are",
    "rises",
    "rise",
    "rising",
    "raises",
    "lifts",
    "drops",
    "drop",
    "dropping",
    "lowers",
    "sinks",
    "turns",
    "sways",
    "sway",
    "nods",
    "shifts",
    "goes",
    "leads",
    "follows",
    "carries",
    "extends",
    "retracts",
    "sweeps",
    "crosses",
    "returns",
    "ends",
];

fn way(word: &str) -> Option<&'static str> {
    Some(match word {
        "up" | "upward" | "upwards" | "rises" | "rise" | "rising" | "raises" | "lifts" => "up",
        "down" | "downward" | "downwards" | "drops" | "drop" | "dropping" | "lowers" | "sinks" => {
            "down"
        }
        "left" | "leftward" | "leftwards" => "left",
        "right" | "rightward" | "rightwards" => "right",
        _ => return None,
    })
}

fn phase_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "initial" | "beginning" | "early" | "opening" => "initial",
        "middle" | "midway" => "middle",
        "late" | "final" | "end" | "closing" => "late",
        _ => return None,
    })
}

/// Words of a text, lower case: letters and digits, with decimal points kept inside numbers.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        let in_number = c == '.'
            && word.chars().last().is_some_and(|p| p.is_ascii_digit())
            && chars.get(k + 1).is_some_and(char::is_ascii_digit);
        if c.is_alphanumeric() || c == '\'' || in_number {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Part names as word lists with the parts they name, longest first so `left hand` wins over
/// `hand`; a group (`legs`) names each of its parts.
fn part_names() -> Vec<(Vec<usize>, Vec<String>)> {
    let mut names: Vec<(Vec<usize>, Vec<String>)> = PARTS
        .iter()
        .enumerate()
        .map(|(i, p)| (vec![i], spoken(p).split(' ').map(String::from).collect()))
        .collect();
    let having = |words: &[&str]| -> Vec<usize> {
        (0..PARTS.len())
            .filter(|&i| words.iter().any(|w| PARTS[i].contains(w)))
            .collect()
    };
    for (group, parts) in [
        ("legs", having(&["Leg", "Foot"])),
        ("arms", having(&["Arm", "Hand"])),
        ("hands", having(&["Hand"])),
        ("feet", having(&["Foot"])),
    ] {
        names.push((parts, vec![group.to_string()]));
    }
    names.sort_by_key(|(_, w)| std::cmp::Reverse(w.len()));
    names
}

fn read_clause(text: &str, names: &[(Vec<usize>, Vec<String>)]) -> Clause {
    let w = words(text);
    let mut c = Clause {
        text: text.trim().trim_end_matches('.').to_string(),
        ..Clause::default()
    };
    let mut verb_at = None;
    let mut k = 0;
    while k < w.len() {
        if let Some((parts, len)) = names
            .iter()
            .find(|(_, n)| w[k..].starts_with(n))
            .map(|(i, n)| (i, n.len()))
        {
            if verb_at.is_none() {
                c.subjects.extend(parts);
            } else {
                c.objects.extend(parts);
            }
            k += len;
            continue;
        }
        let word = w[k].as_str();
        let next = w.get(k + 1).map(String::as_str);
        if verb_at.is_none() && VERBS.contains(&word) {
            verb_at = Some(k);
        }
        if let Some(d) = way(word)
            && !c.ways.contains(&d)
        {
            c.ways.push(d);
        }
        match word {
            "still" | "motionless" | "stationary" => c.still = true,
            "not" | "n't" | "doesn't" | "don't"
                if matches!(next, Some("move" | "moves" | "moving")) =>
            {
                c.still = true
            }
            "slightly" => c.slight = true,
            "nothing" => c.none_moves = true,
            "no" if matches!(
                next,
                Some("part" | "body" | "motion" | "movement" | "parts")
            ) =>
            {
                c.none_moves = true
            }
            "rest" | "other" | "others" => c.rest_still = true,
            "approach" | "approaches" | "approaching" | "closer" | "nearer" | "toward"
            | "towards" | "retracts" => c.approach = true,
            "away" | "apart" | "farther" | "further" | "extends" => c.away = true,
            _ => {}
        }
        if next == Some("s")
            && let Ok(t) = word.parse::<f64>()
        {
            c.times.push(t);
        }
        k += 1;
    }
    c.has_verb = verb_at.is_some();
    // "the rest stays still" and "the person stays still" say something of every part but are not about one.
    if c.rest_still {
        c.rest_still = c.still;
        c.still = c.still && !c.subjects.is_empty();
    } else if c.subjects.is_empty() && c.objects.is_empty() && c.still {
        c.none_moves = true;
    }
    c
}

impl Reading {
    /// Reads a description.
    pub fn of(text: &str) -> Reading {
        let names = part_names();
        let mut sentences = Vec::new();
        for raw in split_sentences(text) {
            let phases = {
                let mut p: Vec<&'static str> =
                    words(&raw).iter().filter_map(|w| phase_word(w)).collect();
                p.dedup();
                p
            };
            let mut clauses: Vec<Clause> = Vec::new();
            for group in raw.split(';') {
                let mut previous: Option<usize> = None;
                for piece in group.split(',').flat_map(|c| c.split(" while ")) {
                    let c = read_clause(piece, &names);
                    // "approaches the head, the torso and the left hand": a list of objects goes on.
                    if let Some(k) = previous
                        && !c.has_verb
                        && !clauses[k].objects.is_empty()
                        && (clauses[k].approach || clauses[k].away)
                    {
                        let more = [c.subjects, c.objects].concat();
                        clauses[k].objects.extend(more);
                        continue;
                    }
                    previous = Some(clauses.len());
                    clauses.push(c);
                }
            }
            // "the head, the torso and the hand move left": names before the verb go with it.
            for k in (0..clauses.len().saturating_sub(1)).rev() {
                let c = &clauses[k];
                let leads = !c.has_verb
                    && c.objects.is_empty()
                    && c.ways.is_empty()
                    && c.times.is_empty()
                    && !c.subjects.is_empty();
                if leads && clauses[k + 1].has_verb {
                    let names = clauses.remove(k).subjects;
                    clauses[k].subjects.splice(0..0, names);
                }
            }
            let order = words(&raw).iter().any(|w| w == "then" || w == "first");
            sentences.push(Sentence {
                text: raw.trim().to_string(),
                phases,
                order,
                clauses,
            });
        }
        Reading { sentences }
    }

    /// Clauses of the sentences about `phase` (`None` or `whole`: the whole clip, sentences of order
    /// aside), with their sentence.
    fn clauses(&self, phase: Option<&str>) -> impl Iterator<Item = (&Sentence, &Clause)> {
        let phase = phase.filter(|p| *p != WHOLE);
        self.sentences
            .iter()
            .filter(move |s| match phase {
                Some(p) => s.phases.contains(&p),
                None => s.phases.is_empty() && !s.order,
            })
            .flat_map(|s| s.clauses.iter().map(move |c| (s, c)))
    }

    /// Whether the text says `part` moves in `phase` (a way among `ways`, when given).
    fn says_moves(
        &self,
        phase: &str,
        part: usize,
        way: Option<&str>,
    ) -> Option<(&Sentence, &Clause)> {
        self.clauses(Some(phase))
            .find(|(_, c)| c.moving(part) && way.is_none_or(|w| c.ways.contains(&w)))
    }

    /// Whether the text says `part` is still in `phase`, by name or as "the rest".
    fn says_still(&self, phase: &str, part: usize) -> bool {
        let named_otherwise = self
            .clauses(Some(phase))
            .any(|(_, c)| c.subjects.contains(&part) && !c.still);
        // A part still over the whole clip is still in each of its phases.
        self.clauses(Some(phase)).any(|(_, c)| {
            (c.still && c.subjects.contains(&part)) || (c.rest_still && !named_otherwise)
        }) || self
            .clauses(None)
            .any(|(_, c)| c.still && c.subjects.contains(&part))
    }

    /// A sentence saying `part` is still (or that nothing moves) in `phase` or over the whole clip.
    fn says_not_moving(&self, phase: &str, part: usize) -> Option<(&Sentence, &Clause)> {
        self.clauses(Some(phase))
            .find(|(_, c)| c.none_moves || (c.still && c.subjects.contains(&part)))
            .or_else(|| {
                self.clauses(None)
                    .find(|(_, c)| c.none_moves || (c.still && c.subjects.contains(&part)))
            })
    }

    fn says_distance(
        &self,
        phase: &str,
        a: usize,
        b: usize,
        approach: bool,
    ) -> Option<(&Sentence, &Clause)> {
        self.clauses(Some(phase)).find(|(_, c)| {
            c.subjects.contains(&a)
                && c.objects.contains(&b)
                && if approach {
                    c.approach
                } else {
                    c.away && !c.approach
                }
        })
    }

    /// When the text says `part` starts moving `direction` (compass, 8 ways), anywhere: the time it
    /// names, or the clause's place in a sentence of order.
    fn start_of(&self, part: usize, direction: &str) -> Option<(StartAt, (&Sentence, &Clause))> {
        let mut want: Vec<&str> = direction.split('-').collect();
        want.sort_unstable();
        self.sentences.iter().enumerate().find_map(|(n, s)| {
            s.clauses.iter().enumerate().find_map(|(k, c)| {
                let mut ways = c.ways.clone();
                ways.sort_unstable();
                if !(c.subjects.contains(&part) && ways == want) {
                    return None;
                }
                let at = match c.times.first() {
                    Some(&t) => StartAt::Time(t),
                    None if s.order => StartAt::Place {
                        sentence: n,
                        clause: k,
                    },
                    None => return None,
                };
                Some((at, (s, c)))
            })
        })
    }

    /// Where the text contradicts `claim` having `answer`.
    pub fn contradicts(&self, claim: &Claim, answer: bool) -> Option<Contradiction> {
        match claim {
            Claim::Moves {
                part,
                phase,
                direction,
            } => self.against_moves(part, phase, direction, answer),
            Claim::MainAxis { part, axis } => self.against_main_axis(part, axis, answer),
            Claim::BothMove { a, b, phase } => self.against_both_move(a, b, phase, answer),
            Claim::MovesWhileStill { a, b, phase } => {
                self.against_moves_while_still(a, b, phase, answer)
            }
            Claim::SameDirection { a, b, phase } => {
                self.against_same_direction(a, b, phase, answer)
            }
            Claim::Before {
                a, dir_a, b, dir_b, ..
            } => self.against_order((a, dir_a), (b, dir_b), answer),
            Claim::Approaches { a, b, phase } => self.against_distance(a, b, phase, true, answer),
            Claim::MovesAway { a, b, phase } => self.against_distance(a, b, phase, false, answer),
        }
    }

    /// [`Claim::Moves`]: the part moves that way in the phase, or not.
    fn against_moves(
        &self,
        part: &str,
        phase: &str,
        direction: &str,
        answer: bool,
    ) -> Option<Contradiction> {
        let p = index(part);
        if answer {
            self.says_not_moving(phase, p).and_then(|s| {
                found(
                    s,
                    format!(
                        "the {} moves {direction} in the {phase} phase",
                        spoken(part)
                    ),
                )
            })
        } else {
            self.says_moves(phase, p, Some(direction)).and_then(|s| {
                found(
                    s,
                    format!(
                        "the {} does not move {direction} noticeably in the {phase} phase",
                        spoken(part)
                    ),
                )
            })
        }
    }

    /// [`Claim::MainAxis`]: the part's motion runs mainly along the axis, or not.
    fn against_main_axis(&self, part: &str, axis: &str, answer: bool) -> Option<Contradiction> {
        // The text goes against it when it has the part move over the clip along one axis only, the other one.
        let (on, off): (&[&str], &[&str]) = if axis == "vertical" {
            (&["up", "down"], &["left", "right"])
        } else {
            (&["left", "right"], &["up", "down"])
        };
        let (on, off) = if answer { (on, off) } else { (off, on) };
        let p = index(part);
        self.clauses(None)
            .find(|(_, c)| {
                c.moving(p)
                    && !c.ways.is_empty()
                    && c.ways.iter().all(|w| off.contains(w))
                    && !c.ways.iter().any(|w| on.contains(w))
            })
            .and_then(|s| {
                found(
                    s,
                    format!(
                        "the {}'s motion runs mainly {}",
                        spoken(part),
                        if answer { axis } else { "the other way" }
                    ),
                )
            })
    }

    /// [`Claim::BothMove`]: both parts move in the phase, or not both.
    fn against_both_move(
        &self,
        a: &str,
        b: &str,
        phase: &str,
        answer: bool,
    ) -> Option<Contradiction> {
        let (pa, pb) = (index(a), index(b));
        if answer {
            self.says_not_moving(phase, pa)
                .or_else(|| self.says_not_moving(phase, pb))
                .and_then(|s| {
                    found(
                        s,
                        format!(
                            "the {} and the {} both move in the {phase} phase",
                            spoken(a),
                            spoken(b)
                        ),
                    )
                })
        } else {
            let both = self
                .says_moves(phase, pa, None)
                .and(self.says_moves(phase, pb, None));
            both.and_then(|s| {
                found(
                    s,
                    format!(
                        "the {} and the {} do not both move in the {phase} phase",
                        spoken(a),
                        spoken(b)
                    ),
                )
            })
        }
    }

    /// [`Claim::MovesWhileStill`]: `a` moves while `b` stays still, or not.
    fn against_moves_while_still(
        &self,
        a: &str,
        b: &str,
        phase: &str,
        answer: bool,
    ) -> Option<Contradiction> {
        let (pa, pb) = (index(a), index(b));
        if answer {
            self.says_not_moving(phase, pa)
                .or_else(|| self.says_moves(phase, pb, None))
                .and_then(|s| {
                    found(
                        s,
                        format!(
                            "the {} moves while the {} stays still in the {phase} phase",
                            spoken(a),
                            spoken(b)
                        ),
                    )
                })
        } else if self.says_still(phase, pb) {
            self.says_moves(phase, pa, None)
                .and_then(|s| found(s, format!("it is not so that the {} moves while the {} stays still in the {phase} phase", spoken(a), spoken(b))))
        } else {
            None
        }
    }

    /// [`Claim::SameDirection`]: a "yes" needs both parts moving.
    fn against_same_direction(
        &self,
        a: &str,
        b: &str,
        phase: &str,
        answer: bool,
    ) -> Option<Contradiction> {
        if answer {
            self.says_not_moving(phase, index(a))
                .or_else(|| self.says_not_moving(phase, index(b)))
                .and_then(|s| {
                    found(
                        s,
                        format!(
                            "the {} and the {} move in the {phase} phase",
                            spoken(a),
                            spoken(b)
                        ),
                    )
                })
        } else {
            None
        }
    }

    /// [`Claim::Before`]: `a` moves `dir_a` before `b` moves `dir_b`, or after.
    fn against_order(
        &self,
        (a, dir_a): (&str, &str),
        (b, dir_b): (&str, &str),
        answer: bool,
    ) -> Option<Contradiction> {
        let (Some((ta, at)), Some((tb, _))) = (
            self.start_of(index(a), dir_a),
            self.start_of(index(b), dir_b),
        ) else {
            return None;
        };
        let earlier = earlier(ta, tb)?;
        if earlier == answer {
            return None;
        }
        let (x, y) = if answer {
            ((a, dir_a), (b, dir_b))
        } else {
            ((b, dir_b), (a, dir_a))
        };
        found(
            at,
            format!(
                "the {} moves {} before the {} moves {}",
                spoken(x.0),
                x.1,
                spoken(y.0),
                y.1
            ),
        )
    }

    /// [`Claim::Approaches`] (`approach`) or [`Claim::MovesAway`]: the distance changes that way, or not.
    fn against_distance(
        &self,
        a: &str,
        b: &str,
        phase: &str,
        approach: bool,
        answer: bool,
    ) -> Option<Contradiction> {
        let (pa, pb) = (index(a), index(b));
        let what = if approach {
            "approach"
        } else {
            "move away from"
        };
        if answer {
            self.says_distance(phase, pa, pb, !approach).and_then(|s| {
                found(
                    s,
                    format!(
                        "the {} does {what} the {} in the {phase} phase",
                        spoken(a),
                        spoken(b)
                    ),
                )
            })
        } else {
            self.says_distance(phase, pa, pb, approach).and_then(|s| {
                found(
                    s,
                    format!(
                        "the {} does not noticeably {what} the {} in the {phase} phase",
                        spoken(a),
                        spoken(b)
                    ),
                )
            })
        }
    }

    /// Whether the text states what a true `claim` asserts: its parts moving in its phase (the way
    /// it says), the still part, the approach, or both starts in their order.
    pub fn states(&self, claim: &Claim) -> bool {
        match claim {
            Claim::Moves {
                part,
                phase,
                direction,
            } => self
                .says_moves(phase, index(part), Some(direction))
                .is_some(),
            Claim::MainAxis { part, axis } => {
                let on: &[&str] = if axis == "vertical" {
                    &["up", "down"]
                } else {
                    &["left", "right"]
                };
                self.clauses(None).any(|(_, c)| {
                    c.moving(index(part))
                        && !c.ways.is_empty()
                        && c.ways.iter().all(|w| on.contains(w))
                })
            }
            Claim::BothMove { a, b, phase } | Claim::SameDirection { a, b, phase } => {
                self.says_moves(phase, index(a), None).is_some()
                    && self.says_moves(phase, index(b), None).is_some()
            }
            Claim::MovesWhileStill { a, b, phase } => {
                self.says_moves(phase, index(a), None).is_some() && self.says_still(phase, index(b))
            }
            Claim::Before {
                a, dir_a, b, dir_b, ..
            } => match (
                self.start_of(index(a), dir_a),
                self.start_of(index(b), dir_b),
            ) {
                (Some((ta, _)), Some((tb, _))) => earlier(ta, tb) == Some(true),
                _ => false,
            },
            Claim::Approaches { a, b, phase } => self
                .says_distance(phase, index(a), index(b), true)
                .is_some(),
            Claim::MovesAway { a, b, phase } => self
                .says_distance(phase, index(a), index(b), false)
                .is_some(),
        }
    }
}

/// When a text says a motion starts: a time in seconds, or a clause's place in a sentence of order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum StartAt {
    Time(f64),
    Place { sentence: usize, clause: usize },
}

/// Whether start `a` comes before start `b`, when the text orders them: two times, or two places in
/// one sentence of order.
fn earlier(a: StartAt, b: StartAt) -> Option<bool> {
    match (a, b) {
        (StartAt::Time(x), StartAt::Time(y)) => ((x - y).abs() > 1e-9).then_some(x < y),
        (
            StartAt::Place {
                sentence: s,
                clause: c,
            },
            StartAt::Place {
                sentence: t,
                clause: d,
            },
        ) if s == t && c != d => Some(c < d),
        _ => None,
    }
}

fn index(part: &str) -> usize {
    PARTS.iter().position(|p| *p == part).unwrap_or(usize::MAX)
}

/// Sentences: split after `.`, `!` or `?` followed by a space or the end (decimal points stay inside).
fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        current.push(c);
        if matches!(c, '.' | '!' | '?' | '\n') && chars.get(k + 1).is_none_or(|n| n.is_whitespace())
        {
            if !current.trim().is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moves(part: &str, phase: &str, direction: &str) -> Claim {
        Claim::Moves {
            part: part.into(),
            phase: phase.into(),
            direction: direction.into(),
        }
    }

    #[test]
    fn a_phase_that_moves_contradicts_no_part_moving() {
        let r = Reading::of(
            "Over the 5.7 s clip the motion is repetitive. In the initial phase (0.0–1.9 s), no part moves noticeably.",
        );
        let c = r
            .contradicts(&moves("Head", "initial", "up"), true)
            .expect("caught");
        assert!(c.sentence.starts_with("In the initial phase"), "{c:?}");
        assert!(
            r.contradicts(&moves("Head", "middle", "up"), true)
                .is_none(),
            "another phase says nothing"
        );
        assert!(!r.states(&moves("Head", "initial", "up")));
    }

    #[test]
    fn directions_parts_and_the_rest_are_read_per_clause() {
        let r = Reading::of(
            "In the middle phase (1.9–3.8 s), the head moves up and down (0.44 px/frame); the right hand, the left foot and \
             the left hand move left (0.3, 0.2 and 0.2 px/frame); the torso moves only slightly; the rest stays still.",
        );
        assert!(
            r.states(&moves("Left_Foot", "middle", "left"))
                && r.states(&moves("Left_Hand", "middle", "left"))
        );
        assert!(r.states(&moves("Head", "middle", "down")));
        assert!(r.states(&moves("Right_Hand", "middle", "left")));
        assert!(
            !r.states(&moves("Right_Hand", "middle", "right")),
            "`right` in the part's name is no direction"
        );
        assert!(
            r.contradicts(&moves("Head", "middle", "up"), false)
                .is_some()
        );
        assert!(
            r.contradicts(&moves("Head", "middle", "left"), false)
                .is_none()
        );
        let still = Claim::MovesWhileStill {
            a: "Head".into(),
            b: "Right_Foot".into(),
            phase: "middle".into(),
        };
        assert!(r.states(&still));
        let not_still = Claim::MovesWhileStill {
            a: "Head".into(),
            b: "Torso".into(),
            phase: "middle".into(),
        };
        assert!(
            !r.states(&not_still),
            "the torso moves slightly, it is not said to be still"
        );
        let both = Claim::BothMove {
            a: "Head".into(),
            b: "Right_Hand".into(),
            phase: "middle".into(),
        };
        assert!(r.states(&both) && r.contradicts(&both, false).is_some());
    }

    #[test]
    fn order_and_distance_are_read() {
        let r = Reading::of(
            "Motions begin in this order: the head up at 0.2 s, the head down at 0.6 s, the left hand up-left at 1.1 s. \
             In the late phase (3.8–5.7 s), the left hand approaches the head, the right hand and the torso; the head moves left.",
        );
        let before = Claim::Before {
            a: "Head".into(),
            dir_a: "up".into(),
            b: "Left_Hand".into(),
            dir_b: "up-left".into(),
            within: None,
        };
        assert!(r.states(&before));
        assert!(r.contradicts(&before, true).is_none());
        let reversed = r
            .contradicts(&before, false)
            .expect("the text has the head first");
        assert!(
            reversed
                .why
                .contains("left hand moves up-left before the head moves up"),
            "{reversed:?}"
        );
        let near = Claim::Approaches {
            a: "Left_Hand".into(),
            b: "Torso".into(),
            phase: "late".into(),
        };
        assert!(r.states(&near) && r.contradicts(&near, false).is_some());
        assert!(
            r.contradicts(
                &Claim::MovesAway {
                    a: "Left_Hand".into(),
                    b: "Head".into(),
                    phase: "late".into()
                },
                true
            )
            .is_some()
        );
        assert!(r.states(&Claim::Approaches {
            a: "Left_Hand".into(),
            b: "Right_Hand".into(),
            phase: "late".into()
        }));
        assert!(
            r.states(&moves("Head", "late", "left")) && !r.states(&moves("Torso", "late", "left"))
        );
    }

    #[test]
    fn the_register_of_the_references_is_read() {
        let r = Reading::of(
            "The head carries most of the motion and moves up and down with a moderate amplitude. First the head rises, then the \
             right hand moves down and to the left. In the middle and late phases the head drops; the right hand extends away from \
             the torso; the legs stay still.",
        );
        // Verbs give directions; a sentence of order orders its clauses and says nothing of the whole clip.
        assert!(
            r.states(&moves("Head", "late", "down")) && r.states(&moves("Head", "middle", "down"))
        );
        let before = Claim::Before {
            a: "Head".into(),
            dir_a: "up".into(),
            b: "Right_Hand".into(),
            dir_b: "down-left".into(),
            within: None,
        };
        assert!(r.states(&before) && r.contradicts(&before, false).is_some());
        assert!(
            r.states(&moves("Head", "whole", "up"))
                && !r.states(&moves("Right_Hand", "whole", "down"))
        );
        assert!(r.states(&Claim::MainAxis {
            part: "Head".into(),
            axis: "vertical".into()
        }));
        assert!(
            r.contradicts(
                &Claim::MainAxis {
                    part: "Head".into(),
                    axis: "horizontal".into()
                },
                true
            )
            .is_some()
        );
        // "Extends away from the torso" is a departure, and a group names each of its parts.
        assert!(r.states(&Claim::MovesAway {
            a: "Right_Hand".into(),
            b: "Torso".into(),
            phase: "late".into()
        }));
        let still = Claim::MovesWhileStill {
            a: "Head".into(),
            b: "Left_Foot".into(),
            phase: "middle".into(),
        };
        assert!(r.states(&still) && r.contradicts(&still, false).is_some());
        assert!(
            r.contradicts(&moves("Right_Upper_Leg", "late", "up"), true)
                .is_some(),
            "the legs' stillness covers each leg part"
        );
        assert!(
            r.contradicts(&moves("Right_Upper_Leg", "initial", "up"), true)
                .is_none(),
            "another phase"
        );
    }

    #[test]
    fn a_still_clip_contradicts_every_motion() {
        let r = Reading::of(
            "Over the 3.0 s clip the person stays still: no body part moves noticeably.",
        );
        assert!(
            r.contradicts(&moves("Left_Foot", "late", "left"), true)
                .is_some()
        );
        assert!(
            r.contradicts(&moves("Left_Foot", "late", "left"), false)
                .is_none()
        );
    }
}

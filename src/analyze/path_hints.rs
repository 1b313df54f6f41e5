//! The hint under a `--set` (or sweep) path that reaches nothing: the one
//! nearest valid path when there is one (`train.lr` →
//! `train.optimizer.lr`, Keras' `learning_rate` → `lr`), else the names
//! of the section that was meant — never the whole list of names.

use super::schema::KERAS_NAMES;

/// Text to append to the error of `name` (`why`), starting with a line
/// break; empty when nothing helps more than `why` itself.
pub(crate) fn hint(name: &str, why: &str, targets: &[String]) -> String {
    let section = name.split('.').next().unwrap_or(name);
    // A layer's own error names the model's layers; a near name there is
    // another layer, which is not what was meant.
    if section == "model" {
        return String::new();
    }
    if let Some(best) = nearest(name, targets) {
        return format!("\nhint: did you mean {best}?");
    }
    if why.contains("did you mean") {
        return String::new();
    }
    let prefix = format!("{section}.");
    let same: Vec<&str> = targets
        .iter()
        .filter(|t| t.starts_with(&prefix))
        .map(String::as_str)
        .collect();
    if same.is_empty() {
        let sections: Vec<&str> = targets
            .iter()
            .filter_map(|t| t.split_once('.').map(|(s, _)| s))
            .fold(Vec::new(), |mut v, s| {
                if !v.contains(&s) {
                    v.push(s);
                }
                v
            });
        if name.contains('.') {
            return format!("\nthe pipeline's sections: {}", sections.join(", "));
        }
        let lets: Vec<&str> = targets
            .iter()
            .filter(|t| !t.contains('.'))
            .map(String::as_str)
            .collect();
        return format!("\nnames without a dot: {}", lets.join(", "));
    }
    format!("\nnames in {section}: {}", same.join(", "))
}

/// The valid path `name` most likely meant, when one stands out.
pub(crate) fn nearest<'a>(name: &str, targets: &'a [String]) -> Option<&'a str> {
    let (section, rest) = name.split_once('.')?;
    let last = rest.rsplit('.').next().unwrap_or(rest);
    let last = KERAS_NAMES
        .iter()
        .find(|(theirs, _)| *theirs == last)
        .map_or(last, |(_, ours)| *ours);
    let ends_so = |t: &&String| t.rsplit('.').next() == Some(last);
    // The parameter under another statement of the same section.
    let in_section: Vec<&String> = targets
        .iter()
        .filter(|t| t.split('.').next() == Some(section) && t.contains('.'))
        .filter(ends_so)
        .collect();
    if let [only] = in_section.as_slice() {
        return Some(only.as_str());
    }
    // A misspelt path: within its section the rest of the path is
    // compared (the shared `train.` would make `train.lr` look like
    // `train.loss`); a misspelt section, the whole path.
    let wanted = match rest.rsplit_once('.') {
        Some((head, _)) => format!("{head}.{last}"),
        None => last.to_string(),
    };
    let known_section = targets
        .iter()
        .any(|t| t.split_once('.').is_some_and(|(s, _)| s == section));
    let best = targets
        .iter()
        .filter_map(|t| {
            let (s, r) = t.split_once('.')?;
            let score = if known_section {
                (s == section).then(|| strsim::jaro_winkler(&wanted, r))?
            } else {
                strsim::jaro_winkler(&format!("{section}.{wanted}"), t)
            };
            (score >= 0.9).then_some((score, t.as_str()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, t)| t);
    if best.is_some() {
        return best;
    }
    // The parameter in another section, when only one has it.
    let anywhere: Vec<&String> = targets
        .iter()
        .filter(|t| t.contains('.'))
        .filter(ends_so)
        .collect();
    match anywhere.as_slice() {
        [only] => Some(only.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Vec<String> {
        [
            "seed",
            "width",
            "data.split",
            "data.split.train",
            "data.split.test",
            "train.epochs",
            "train.epochs.count",
            "train.batch",
            "train.batch.size",
            "train.batch.drop_last",
            "train.optimizer",
            "train.optimizer.lr",
            "train.optimizer.clip_norm",
            "train.loss",
            "model.dense.units",
            "model.dense_1.units",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn nearest_paths() {
        let t = targets();
        for (name, want) in [
            ("train.lr", Some("train.optimizer.lr")),
            ("train.learning_rate", Some("train.optimizer.lr")),
            ("train.optimizer.learning_rate", Some("train.optimizer.lr")),
            ("train.optimizr.lr", Some("train.optimizer.lr")),
            ("train.batch_size", Some("train.batch")),
            ("trian.epochs", Some("train.epochs")),
            ("train.xyz", None),
            ("train.optimizer.lrr", Some("train.optimizer.lr")),
        ] {
            assert_eq!(nearest(name, &t), want, "{name}");
        }
        assert_eq!(
            hint("train.lr", "train has no statement \"lr\"", &t),
            "\nhint: did you mean train.optimizer.lr?"
        );
        assert_eq!(
            hint("train.xyz", "train has no statement \"xyz\"", &t),
            "\nnames in train: train.epochs, train.epochs.count, train.batch, train.batch.size, \
             train.batch.drop_last, train.optimizer, train.optimizer.lr, train.optimizer.clip_norm, train.loss"
        );
        assert_eq!(
            hint("model.dense_2.units", "the model has no layer dense_2", &t),
            ""
        );
    }
}

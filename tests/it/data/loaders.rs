//! Each loader on small generated files in the real formats, including
//! truncated and corrupt files (exact messages), and `probe`.

use dlp::data::table::Values;
use dlp::data::{cifar, csv_source, idx, images, probe, synth};
use dlp::plan::{Shape, Source};
use std::path::Path;

fn err<T: std::fmt::Debug>(r: dlp::error::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn cifar_records_are_read_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    synth::write_cifar10(tmp.path(), 23, 7, 1).unwrap();
    let dir = tmp.path().join("cifar-10-batches-bin");
    let set = cifar::load(&dir).unwrap();
    assert_eq!(set.train.len(), 23);
    assert_eq!(set.test.as_ref().unwrap().len(), 7);
    assert_eq!(set.classes[0], "airplane");
    assert_eq!(set.classes[9], "truck");
    // data_batch_1 holds 5 records (23 = 5+5+5+4+4); record 0 is label + 3072 bytes.
    let raw = std::fs::read(dir.join("data_batch_1.bin")).unwrap();
    assert_eq!(raw.len(), 5 * 3073);
    assert_eq!(set.train.labels[0], u32::from(raw[0]));
    let Values::U8(px) = &set.train.values else {
        panic!()
    };
    assert_eq!(&px[..3072], &raw[1..3073]);
    // Record 5 is the first of data_batch_2.
    let raw2 = std::fs::read(dir.join("data_batch_2.bin")).unwrap();
    assert_eq!(&px[5 * 3072..6 * 3072], &raw2[1..3073]);
    // Each record is named by its file and its place there.
    let at = |file: &str, j: usize| Some(format!("{}[{j}]", dir.join(file).display()));
    assert_eq!(set.train.names.get(4), at("data_batch_1.bin", 4));
    assert_eq!(set.train.names.get(5), at("data_batch_2.bin", 0));
    assert_eq!(set.train.names.get(22), at("data_batch_5.bin", 3));
    assert_eq!(set.train.names.get(23), None);
    assert_eq!(
        set.test.as_ref().unwrap().names.get(6),
        at("test_batch.bin", 6)
    );
}

#[test]
fn cifar_truncated_and_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    synth::write_cifar10(tmp.path(), 10, 2, 1).unwrap();
    let dir = tmp.path().join("cifar-10-batches-bin");
    std::fs::write(dir.join("test_batch.bin"), vec![0u8; 3072001]).unwrap();
    assert_eq!(
        err(cifar::load(&dir)),
        format!(
            "{}: 3072001 bytes is not a whole number of 3073-byte records",
            dir.join("test_batch.bin").display()
        )
    );
    let mut rec = vec![0u8; 3073 * 2];
    rec[3073] = 12;
    std::fs::write(dir.join("test_batch.bin"), rec).unwrap();
    assert!(
        err(cifar::load(&dir)).ends_with("test_batch.bin: record 2: label 12 is not a class (0-9)")
    );
    std::fs::remove_file(dir.join("data_batch_3.bin")).unwrap();
    assert!(err(cifar::load(&dir)).contains("data_batch_3.bin"));
}

#[test]
fn idx_plain_and_gzipped() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..24).collect();
    for gz in [false, true] {
        let p = tmp.path().join(format!("x{gz}"));
        synth::write_idx(&p, &[2, 3, 4], &data, gz).unwrap();
        let x = idx::read(&p).unwrap();
        assert_eq!(
            (x.dims.clone(), x.data.clone()),
            (vec![2, 3, 4], data.clone())
        );
        assert_eq!(idx::read_dims(&p).unwrap(), vec![2, 3, 4]);
    }
}

#[test]
fn idx_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("imgs");
    let check = |bytes: &[u8], msg: &str| {
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(err(idx::read(&p)), format!("{}: {msg}", p.display()));
    };
    check(
        &[
            0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5,
        ],
        "header says 2×2×2 = 8 data bytes but the file has 5",
    );
    check(
        &[0x50, 0x4b, 8, 1],
        "not an IDX file: starts with 0x50 0x4b, expected 0x00 0x00",
    );
    check(
        &[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0],
        "IDX data type 0x0d is not supported (only unsigned bytes, 0x08)",
    );
    check(
        &[0, 0, 8, 3, 0, 0],
        "truncated IDX header: 3 dimensions need 16 bytes",
    );
    // A gzip stream cut in half.
    synth::write_idx(&p, &[100], &[7u8; 100], true).unwrap();
    let gz = std::fs::read(&p).unwrap();
    std::fs::write(&p, &gz[..gz.len() / 2]).unwrap();
    assert!(err(idx::read(&p)).contains("corrupt gzip data"));
    // Labels that do not match the images.
    let (i, l) = (tmp.path().join("i"), tmp.path().join("l"));
    synth::write_idx(&i, &[3, 2, 2], &[0; 12], false).unwrap();
    synth::write_idx(&l, &[2], &[0, 1], false).unwrap();
    assert_eq!(
        err(idx::read_pair(&i, &l)),
        format!(
            "{}: 2 labels but {} has 3 samples",
            l.display(),
            i.display()
        )
    );
}

#[test]
fn csv_classes_and_bad_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("data.csv");
    std::fs::write(&p, "a,kind,b\n1,setosa,2\n3,virginica,4\n5,setosa,6\n").unwrap();
    let s = csv_source::load(&p, "kind").unwrap();
    assert_eq!(s.classes, ["setosa", "virginica"]);
    assert_eq!(s.train.labels, [0, 1, 0]);
    assert_eq!(s.shape, Shape::Flat(2));
    let Values::F32(v) = &s.train.values else {
        panic!()
    };
    assert_eq!(v, &[1., 2., 3., 4., 5., 6.]);
    // Numeric labels sort numerically, not as strings.
    std::fs::write(&p, "x,y\n0,10\n1,2\n2,1\n3,2\n").unwrap();
    let s = csv_source::load(&p, "y").unwrap();
    assert_eq!(s.classes, ["1", "2", "10"]);
    assert_eq!(s.train.labels, [2, 1, 0, 1]);
    // Bad rows name file and line.
    std::fs::write(&p, "a,y,b\n1,x,2\n3,y,abc\n").unwrap();
    assert_eq!(
        err(csv_source::load(&p, "y")),
        format!("{}:3: column \"b\": \"abc\" is not a number", p.display())
    );
    std::fs::write(&p, "a,y,b\n1,x,2\n3,y\n").unwrap();
    assert_eq!(
        err(csv_source::load(&p, "y")),
        format!("{}:3: 2 fields, the header has 3", p.display())
    );
    assert_eq!(
        err(csv_source::load(&p, "label")),
        format!(
            "{}: no column named \"label\" (columns: a, y, b)",
            p.display()
        )
    );
}

/// Labels are categories compared as text: `nan` is one class, not one
/// per row (NaN never equals itself) nor silently class 0 (issue 13).
#[test]
fn csv_labels_are_text_categories() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("data.csv");
    let load = |labels: &[&str]| {
        let mut text = String::from("x,y\n");
        for (i, l) in labels.iter().enumerate() {
            text.push_str(&format!("{i},{l}\n"));
        }
        std::fs::write(&p, text).unwrap();
        let s = csv_source::load(&p, "y").unwrap();
        (s.classes, s.train.labels)
    };
    // Not every label is a finite number: text classes in byte order.
    assert_eq!(
        load(&["1", "2", "nan", "2", "nan", "1", "nan"]),
        (
            vec!["1".into(), "2".into(), "nan".into()],
            vec![0, 1, 2, 1, 2, 0, 2]
        )
    );
    assert_eq!(
        load(&["10", "2", "NaN", "inf", "2"]),
        (
            vec!["10".into(), "2".into(), "NaN".into(), "inf".into()],
            vec![0, 1, 2, 3, 1]
        )
    );
    // Every label a finite number: numeric order; one class per spelling.
    assert_eq!(
        load(&["1e1", "-1", "0.5", "1.0", "1", "0.5"]),
        (
            vec![
                "-1".into(),
                "0.5".into(),
                "1".into(),
                "1.0".into(),
                "1e1".into()
            ],
            vec![4, 0, 1, 3, 2, 1]
        )
    );
    // 300 rows of 1, 2, nan: three classes, 100 rows each.
    let many: Vec<&str> = (0..300).map(|i| ["1", "2", "nan"][i % 3]).collect();
    let (classes, labels) = load(&many);
    assert_eq!(classes, ["1", "2", "nan"]);
    for k in 0..3 {
        assert_eq!(labels.iter().filter(|&&l| l == k).count(), 100, "class {k}");
    }
    // A missing label names its line.
    std::fs::write(&p, "x,y\n0,1\n1, \n2,2\n").unwrap();
    assert_eq!(
        err(csv_source::load(&p, "y")),
        format!(
            "{}:3: column \"y\": the label is empty (every row needs one)",
            p.display()
        )
    );
}

/// End to end: a run over labels 1, 2, nan counts three classes of ten in
/// `data.csv` (it showed `1,2,nan,nan` with the nan rows under `1`).
#[test]
fn csv_nan_labels_through_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("x1,x2,y\n");
    for i in 0..30 {
        csv.push_str(&format!(
            "{}.{i},{},{}\n",
            i % 3,
            i * 7 % 5,
            ["1", "2", "nan"][i % 3]
        ));
    }
    std::fs::write(tmp.path().join("d.csv"), csv).unwrap();
    std::fs::write(
        tmp.path().join("p.dlp"),
        "data {\n  source csv \"d.csv\" label=y\n  split train=0.5 test=0.5 stratify=true\n}\nmodel { dense 3 activation=softmax }\ntrain { loss cross_entropy; epochs 1; batch 5 }\n",
    )
    .unwrap();
    let out = crate::common::dlp()
        .current_dir(tmp.path())
        .args(["run", "p.dlp", "--quiet", "--out", "run"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("run/data.csv")).unwrap(),
        "split,class,count\ntrain,1,5\ntrain,2,5\ntrain,nan,5\ntest,1,5\ntest,2,5\ntest,nan,5\n"
    );
}

fn png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            rgb[0],
            rgb[1].wrapping_add(x as u8),
            rgb[2].wrapping_add(y as u8),
        ])
    })
    .save(path)
    .unwrap();
}

#[test]
fn image_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("imgs");
    png(&root.join("cat/1.png"), 3, 2, [10, 20, 30]);
    png(&root.join("cat/2.png"), 3, 2, [11, 21, 31]);
    png(&root.join("dog/1.png"), 3, 2, [50, 60, 70]);
    let s = images::load(&root, Default::default()).unwrap();
    assert_eq!(s.classes, ["cat", "dog"]);
    assert_eq!(s.train.labels, [0, 0, 1]);
    let name = |p: &str| Some(root.join(p).display().to_string());
    assert_eq!(s.train.names.get(1), name("cat/2.png"));
    assert_eq!(s.train.names.get(2), name("dog/1.png"));
    assert!(s.test.is_none());
    assert_eq!(
        s.shape,
        Shape::Image {
            channels: 3,
            height: 2,
            width: 3
        }
    );
    let Values::U8(px) = &s.train.values else {
        panic!()
    };
    // CHW: red plane, green plane (+x), blue plane (+y).
    assert_eq!(
        &px[..18],
        &[
            10, 10, 10, 10, 10, 10, 20, 21, 22, 20, 21, 22, 30, 30, 30, 31, 31, 31
        ]
    );
    let info = probe(&Source::Images { path: root.clone() }, tmp.path()).unwrap();
    assert_eq!((info.input, info.classes), (s.shape, Some(2)));
    // Sizes must agree unless resize is asked for.
    png(&root.join("dog/2.png"), 4, 4, [0, 0, 0]);
    let e = err(images::load(&root, Default::default()));
    assert!(
        e.contains("dog/2.png: image is 4×4 (height×width) but"),
        "{e}"
    );
    let t = dlp::data::convert::LoadTransform {
        grayscale: true,
        resize: Some((5, 5)),
        ..Default::default()
    };
    let s = images::load(&root, t).unwrap();
    assert_eq!(
        s.shape,
        Shape::Image {
            channels: 1,
            height: 5,
            width: 5
        }
    );
    // A corrupt file names itself when loaded (a runtime error, exit 1);
    // the probe, reading headers, leaves it to the loader.
    std::fs::write(root.join("dog/3.png"), b"not a png").unwrap();
    assert!(err(images::load(&root, t)).contains("dog/3.png: cannot decode image"));
    let info = probe(&Source::Images { path: root.clone() }, tmp.path()).unwrap();
    let survey = info.survey.unwrap();
    assert_eq!(
        (survey.colour, survey.other_size),
        (4, Some((root.join("dog/2.png"), 4, 4)))
    );
    // ... unless it is the first file, which gives the input shape.
    std::fs::write(root.join("cat/1.png"), b"not a png").unwrap();
    assert!(
        err(probe(&Source::Images { path: root.clone() }, tmp.path()))
            .contains("cat/1.png: cannot read image header")
    );
}

fn gray_png(path: &Path, w: u32, h: u32, v: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_pixel(w, h, image::Luma([v]))
        .save(path)
        .unwrap();
}

/// A folder mixing grayscale and colour files is refused, by the probe
/// (`dlp check`) and by the loader alike, naming the first file whose
/// channels differ, unless `grayscale` or `rgb` says what the model gets.
#[test]
fn mixed_grayscale_and_colour_folders() {
    use dlp::data::convert::{LoadTransform, luma};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("imgs");
    gray_png(&root.join("cat/1.png"), 2, 2, 100);
    png(&root.join("cat/2.png"), 2, 2, [10, 20, 30]);
    gray_png(&root.join("dog/1.png"), 2, 2, 7);
    let want = format!(
        "{}: image is colour (3 channels) but {} is grayscale (1 channel): the folder mixes 2 grayscale and 1 colour images; add `grayscale` (every image to 1 channel) or `rgb` (every image to 3) to preprocess",
        root.join("cat/2.png").display(),
        root.join("cat/1.png").display()
    );
    assert_eq!(err(images::load(&root, LoadTransform::default())), want);
    let info = probe(&Source::Images { path: root.clone() }, tmp.path()).unwrap();
    let survey = info.survey.unwrap();
    let problems: Vec<String> = survey
        .problems(LoadTransform::default())
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(problems, [want]);
    assert_eq!((survey.grayscale, survey.colour), (2, 1));

    // rgb: three channels, a grayscale file replicated.
    let rgb = LoadTransform {
        rgb: true,
        ..Default::default()
    };
    assert!(survey.problems(rgb).is_empty());
    let s = images::load(&root, rgb).unwrap();
    assert_eq!(
        s.shape,
        Shape::Image {
            channels: 3,
            height: 2,
            width: 2
        }
    );
    let Values::U8(px) = &s.train.values else {
        panic!()
    };
    assert_eq!(&px[..12], &[100; 12]);
    // cat/2.png, CHW: red, green (+x), blue (+y).
    assert_eq!(
        &px[12..24],
        &[10, 10, 10, 10, 20, 21, 20, 21, 30, 30, 31, 31]
    );
    assert_eq!(&px[24..], &[7; 12]);

    // grayscale: one channel, colour through PIL's luma.
    let grey = LoadTransform {
        grayscale: true,
        ..Default::default()
    };
    let s = images::load(&root, grey).unwrap();
    let Values::U8(px) = &s.train.values else {
        panic!()
    };
    let l = |g, b| luma(10, g, b);
    assert_eq!(
        px,
        &[
            100,
            100,
            100,
            100,
            l(20, 30),
            l(21, 30),
            l(20, 31),
            l(21, 31),
            7,
            7,
            7,
            7
        ]
    );

    // Only grayscale files: rgb still makes three channels.
    std::fs::remove_file(root.join("cat/2.png")).unwrap();
    let s = images::load(&root, rgb).unwrap();
    assert_eq!(s.shape.numel(), 12);
    let Values::U8(px) = &s.train.values else {
        panic!()
    };
    assert_eq!(&px[..12], &[100; 12]);
    // ... and the official test part counts too.
    let split = tmp.path().join("split");
    png(&split.join("train/a/1.png"), 2, 2, [1, 2, 3]);
    png(&split.join("test/a/1.png"), 2, 2, [1, 2, 3]);
    gray_png(&split.join("test/a/2.png"), 2, 2, 9);
    let info = probe(
        &Source::Images {
            path: split.clone(),
        },
        tmp.path(),
    )
    .unwrap();
    let survey = info.survey.unwrap();
    assert_eq!(survey.other_channels, Some(split.join("test/a/2.png")));
    assert!(err(images::load(&split, Default::default())).starts_with(&format!(
        "{}: image is grayscale (1 channel) but {} is colour (3 channels): the folder mixes 1 grayscale and 2 colour images;",
        split.join("test/a/2.png").display(),
        split.join("train/a/1.png").display()
    )));
}

#[test]
fn image_folders_with_official_test() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    png(&root.join("train/a/1.png"), 2, 2, [1, 2, 3]);
    png(&root.join("train/b/1.png"), 2, 2, [4, 5, 6]);
    png(&root.join("test/b/1.png"), 2, 2, [7, 8, 9]);
    let s = images::load(root, Default::default()).unwrap();
    assert_eq!(s.train.labels, [0, 1]);
    assert_eq!(s.test.unwrap().labels, [1]);
}

/// `rgb` on one-channel data (MNIST, IDX): the plane three times, before
/// any resize; on colour data it changes nothing.
#[test]
fn rgb_replicates_a_grayscale_plane() {
    use dlp::data::convert::{LoadTransform, sample, table};
    use dlp::data::table::{Names, Table};
    let rgb = LoadTransform {
        rgb: true,
        ..Default::default()
    };
    let grey = [1u8, 2, 3, 4];
    assert_eq!(
        sample(&grey, 1, 2, 2, rgb),
        [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]
    );
    let colour: Vec<u8> = (1..=12).collect();
    assert_eq!(sample(&colour, 3, 2, 2, rgb), colour);
    let one = Shape::Image {
        channels: 1,
        height: 2,
        width: 2,
    };
    assert_eq!(
        rgb.shape(one),
        Shape::Image {
            channels: 3,
            height: 2,
            width: 2
        }
    );
    let t = Table {
        values: Values::U8(vec![1, 2, 3, 4, 9, 9, 9, 9]),
        numel: 4,
        labels: vec![0, 1],
        names: Names::Files(vec!["a.png".into(), "b.png".into()]),
    };
    let out = table(t, one, rgb).unwrap();
    assert_eq!(out.numel, 12);
    // The samples keep their names through the load-time transforms.
    assert_eq!(out.names.get(1).as_deref(), Some("b.png"));
    let Values::U8(px) = &out.values else {
        panic!()
    };
    assert_eq!(&px[12..], &[9; 12]);
}

#[test]
fn grayscale_uses_pil_luma() {
    // PIL: L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
    assert_eq!(dlp::data::convert::luma(255, 255, 255), 255);
    assert_eq!(dlp::data::convert::luma(255, 0, 0), 76);
    assert_eq!(dlp::data::convert::luma(0, 255, 0), 150);
    assert_eq!(dlp::data::convert::luma(0, 0, 255), 29);
}

#[test]
fn probe_reads_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("t.csv");
    std::fs::write(&p, "a,b,c,label\n1,2,3,x\n").unwrap();
    let info = probe(
        &Source::Csv {
            path: "t.csv".into(),
            label: "label".into(),
        },
        tmp.path(),
    )
    .unwrap();
    assert_eq!(info.input, Shape::Flat(3));
    synth::write_mnist(tmp.path(), 4, 2, 1, true).unwrap();
    let info = probe(
        &Source::Idx {
            images: "train-images-idx3-ubyte.gz".into(),
            labels: "train-labels-idx1-ubyte.gz".into(),
            test_images: None,
            test_labels: None,
        },
        tmp.path(),
    )
    .unwrap();
    assert_eq!(
        info.input,
        Shape::Image {
            channels: 1,
            height: 28,
            width: 28
        }
    );
}

//! Extract + parse + process of a 10-region LLM reply (the README dragon's regions, twice over).
//! Run: `cargo bench --bench canvas`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use omost_tui::canvas;

fn ten_region_reply() -> String {
    let mut c = canvas::parse(include_str!("../examples/dragon.md"))
        .expect("dragon parses")
        .canvas;
    let more = c.regions.clone();
    c.regions.extend(more);
    c.regions.push(c.regions[0].clone());
    c.regions.push(c.regions[1].clone());
    assert_eq!(c.regions.len(), 10);
    format!(
        "Sure, here is the canvas.\n\n```python\n{}```\n",
        canvas::to_code(&c)
    )
}

fn bench(cr: &mut Criterion) {
    let reply = ten_region_reply();
    cr.bench_function("extract+parse+process, 10 regions", |b| {
        b.iter(|| {
            let parsed = canvas::parse(black_box(&reply)).expect("parses");
            let conditions = parsed.canvas.conditions().expect("conditions");
            let sketch = parsed.canvas.sketch().expect("sketch");
            black_box((conditions, sketch))
        })
    });
    cr.bench_function("parse only, 10 regions", |b| {
        b.iter(|| canvas::parse(black_box(&reply)).expect("parses"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

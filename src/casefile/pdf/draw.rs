//! The rendering pass: a layout's pages drawn with krilla (text, images, rules, a drawn seal)
//! with each page's footer, once the page count is known.

use super::layout::{Advances, Layout, Op, PAGE_H, PAGE_W};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use std::sync::Arc;

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill { paint: rgb::Color::new(r, g, b).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

pub(in crate::casefile) fn draw(l: &Layout, font: Font) -> Vec<u8> {
    let mut doc = Document::new();
    let total = l.pages.len();
    for (n, ops) in l.pages.iter().enumerate() {
        let Some(settings) = PageSettings::from_wh(PAGE_W, PAGE_H) else { continue };
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        surface.set_fill(Some(fill(0, 0, 0)));
        for op in ops {
            match op {
                Op::Text { x, y, size, text } => {
                    surface.draw_text(Point::from_xy(*x, *y), font.clone(), *size, text, false, TextDirection::Auto);
                }
                Op::Image { x, y, w, h, bytes } => {
                    let data: krilla::Data = Arc::new(bytes.clone()).into();
                    let image = if bytes.starts_with(&[0xFF, 0xD8]) {
                        Image::from_jpeg(data, true)
                    } else {
                        Image::from_png(data, true)
                    };
                    if let (Ok(image), Some(size)) = (image, Size::from_wh(*w, *h)) {
                        surface.push_transform(&Transform::from_translate(*x, *y));
                        surface.draw_image(image, size);
                        surface.pop();
                    }
                }
                Op::Rule { x1, x2, y } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y);
                    pb.line_to(*x2, *y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke { width: 0.6, ..Default::default() }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                        surface.set_fill(Some(fill(0, 0, 0)));
                    }
                }
                Op::Seal { cx, cy, r, name } => draw_seal(&mut surface, (&font, &l.advances), *cx, *cy, *r, name),
            }
        }
        let foot = format!("{}    第{}页 共{}页", l.footer, n + 1, total);
        let x = (PAGE_W - l.width(&foot, 9.0)) / 2.0;
        surface.set_fill(Some(fill(90, 90, 90)));
        surface.draw_text(Point::from_xy(x, PAGE_H - 36.0), font.clone(), 9.0, &foot, false, TextDirection::Auto);
        surface.finish();
        page.finish();
    }
    // Rendering only fails on a broken font or image, which were checked when accepted.
    doc.finish().unwrap_or_default()
}

/// A red round seal: ring, star, and the committee's name across it.
fn draw_seal(
    surface: &mut krilla::surface::Surface<'_>,
    (font, advances): (&Font, &Advances),
    cx: f32,
    cy: f32,
    r: f32,
    name: &str,
) {
    let red = rgb::Color::new(200, 16, 16);
    let mut ring = PathBuilder::new();
    let steps = 72;
    for k in 0..=steps {
        let a = k as f32 / steps as f32 * std::f32::consts::TAU;
        let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
        if k == 0 { ring.move_to(x, y) } else { ring.line_to(x, y) }
    }
    let mut star = PathBuilder::new();
    for k in 0..10 {
        let a = -std::f32::consts::FRAC_PI_2 + k as f32 * std::f32::consts::PI / 5.0;
        let rr = if k % 2 == 0 { r * 0.28 } else { r * 0.11 };
        let (x, y) = (cx + rr * a.cos(), cy - r * 0.12 + rr * a.sin());
        if k == 0 { star.move_to(x, y) } else { star.line_to(x, y) }
    }
    star.close();
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke { paint: red.into(), width: 2.5, ..Default::default() }));
    if let Some(p) = ring.finish() {
        surface.draw_path(&p);
    }
    surface.set_stroke(None);
    surface.set_fill(Some(Fill { paint: red.into(), opacity: NormalizedF32::ONE, rule: Default::default() }));
    if let Some(p) = star.finish() {
        surface.draw_path(&p);
    }
    let size = (1.5 * r / name.chars().count().max(1) as f32).min(11.0);
    let x = cx - advances.width(name, size) / 2.0;
    surface.draw_text(Point::from_xy(x, cy + r * 0.55), font.clone(), size, name, false, TextDirection::Auto);
    surface.set_fill(Some(fill(0, 0, 0)));
}

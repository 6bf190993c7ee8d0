//! Write the hostile-senders messages to a folder, for the "hostile load"
//! benchmarks and the soak run (docs/BENCHMARKS.md):
//! `cargo run --release -p outwork-redteam --example hostile -- DIR`.

use outwork_redteam::hostile;

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "hostile".into());
    std::fs::create_dir_all(&dir)?;
    let write = |name: &str, data: Vec<u8>| -> std::io::Result<()> {
        let p = std::path::Path::new(&dir).join(name);
        println!("{} ({} bytes)", p.display(), data.len());
        std::fs::write(p, data)
    };
    write("qr-bomb-zip600.eml", hostile::qr_bomb_zip(600))?;
    write("inline-images100.eml", hostile::inline_images(100, 4096))?;
    write(
        "inline-images100-2048.eml",
        hostile::inline_images(100, 2048),
    )?;
    write("headers-5M.eml", hostile::many_headers(5_000_000))?;
    write("parts-2.6M.eml", hostile::many_parts(2_600_000))?;
    Ok(())
}

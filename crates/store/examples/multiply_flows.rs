//! Build a large database for the web analyzer's query figures: copy the
//! flows (and their search text) of the captures already in DB into one new
//! capture, rewriting addresses in each copy so that the copies are
//! distinct hosts, until it holds at least TARGET flows.
//!
//! ```sh
//! netsift analyze --db big.db -q corpus/*.pcap
//! cargo run --release -p netsift-store --example multiply_flows -- big.db 1000000
//! ```

use std::net::IpAddr;
use std::path::PathBuf;

use netsift_store::rusqlite::{params, types::Value};
use netsift_store::{new_capture, query, CaptureInfo, Store};

/// Copy `k` of an address: IPv4 a.b.c.d → a.(b^hi).(c^lo).d, IPv6 with
/// its fourth group XORed with k.
fn rewrite(ip: &str, k: u32) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let o = a.octets();
            let o = [o[0], o[1] ^ (k >> 8) as u8, o[2] ^ k as u8, o[3]];
            std::net::Ipv4Addr::from(o).to_string()
        }
        Ok(IpAddr::V6(a)) => {
            let mut s = a.segments();
            s[3] ^= k as u16;
            std::net::Ipv6Addr::from(s).to_string()
        }
        Err(_) => ip.to_string(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = PathBuf::from(args.next().ok_or("usage: multiply_flows DB [TARGET]")?);
    let target: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let store = Store::open_sqlite(&db)?;
    let c = store.db.sqlite().ok_or("not SQLite")?;
    let cols = "capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip, dst_port, vlan, tunnel, protocol, app, confidence, source, evidence, orig_pkts, resp_pkts, orig_bytes, resp_bytes, bytes, conn_state, history, community_id, end_reason";
    let mut rows: Vec<(Vec<Value>, Option<String>)> = Vec::new();
    {
        let mut st = c.prepare(&format!(
            "SELECT {cols}, (SELECT text FROM flow_text WHERE rowid = flows.id) FROM flows
             WHERE capture_id IN (SELECT id FROM captures WHERE status = 'done' AND name NOT LIKE 'corpus x%')"
        ))?;
        let mut q = st.query([])?;
        while let Some(r) = q.next()? {
            let v: Vec<Value> = (0..25).map(|i| r.get(i)).collect::<Result<_, _>>()?;
            rows.push((v, r.get(25)?));
        }
    }
    if rows.is_empty() {
        return Err("no flows to copy: run netsift analyze --db first".into());
    }
    let copies = target.div_ceil(rows.len());
    let id = new_capture(
        &store.db,
        &CaptureInfo {
            name: format!("corpus x{copies} (addresses rewritten)"),
            ..CaptureInfo::default()
        },
    )?;
    eprintln!("{} flows x {copies} copies into capture {id}", rows.len());
    let t0 = std::time::Instant::now();
    c.execute_batch("BEGIN")?;
    let mut n = 0usize;
    {
        let placeholders: Vec<String> = (1..=25).map(|i| format!("?{i}")).collect();
        let mut ins = c.prepare(&format!(
            "INSERT INTO flows({cols}) VALUES ({})",
            placeholders.join(",")
        ))?;
        let mut txt = c.prepare("INSERT INTO flow_text(rowid, text) VALUES (?1, ?2)")?;
        for k in 0..copies as u32 {
            for (v, text) in &rows {
                let mut v = v.clone();
                v[0] = Value::Integer(id);
                if let Value::Text(u) = &v[1] {
                    v[1] = Value::Text(format!("{u}x{k}"));
                }
                for i in [5, 7] {
                    if let Value::Text(ip) = &v[i] {
                        v[i] = Value::Text(rewrite(ip, k));
                    }
                }
                ins.execute(netsift_store::rusqlite::params_from_iter(v.iter()))?;
                if let Some(t) = text {
                    txt.execute(params![c.last_insert_rowid(), t])?;
                }
                n += 1;
                if n % 200_000 == 0 {
                    c.execute_batch("COMMIT; BEGIN")?;
                    eprintln!("  {n} flows, {:.1} s", t0.elapsed().as_secs_f64());
                }
            }
        }
    }
    c.execute_batch("COMMIT")?;
    let stats = query::compute_stats(&store.db, id, &[])?;
    c.execute(
        "UPDATE captures SET status = 'done', flows = ?2, first_ts = ?3, last_ts = ?4, stats = ?5 WHERE id = ?1",
        params![id, n as i64, stats.first_ts, stats.last_ts, stats.json.to_string()],
    )?;
    // What end_capture does for every capture: let SQLite refresh its planner statistics.
    c.execute_batch("PRAGMA optimize")?;
    eprintln!(
        "capture {id}: {n} flows written in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    println!("{id}");
    Ok(())
}

//! kill -9 of relays and of the recipient at random points, then restart: every message is
//! delivered exactly once, intact, and its receipt comes back.

use std::time::{Duration, Instant};

use mailvortex_e2e::net::{NetOptions, Network, Sent};
use mailvortex_e2e::node::Node;
use mailvortex_e2e::{exclusive, progress, rng};
use rand::Rng;

/// Whether a node did relay or receive work in the last `window`.
fn busy(n: &Node, window: Duration) -> bool {
    let now = Instant::now();
    n.events.any(|e| {
        now.duration_since(e.at) < window
            && matches!(
                e.kind(),
                "packet_queued_for_relay" | "packet_relayed" | "shard_received"
            )
    })
}

#[test]
fn kill9_of_relays_and_recipient_loses_and_duplicates_nothing() {
    let _serial = exclusive();
    let mut rng = rng("kill9");
    let mut opts = NetOptions::new("kill", "127.0.23");
    // 15 protocol minutes = 3 s per hop at "standard": messages stay in flight long enough
    // for many kills.
    opts.time_factor = 300.0;
    let mut net = Network::start(&opts);
    let mut sent: Vec<Sent> = Vec::new();
    for (i, level) in ["standard", "fast", "strong", "maximum", "standard", "fast"]
        .iter()
        .enumerate()
    {
        let file = net.payload(&format!("crash-{i}.bin"), 512 * 1024, None, &mut rng);
        sent.push(net.send(&file, &format!("crash test {i}"), level));
    }

    // Chaos: while messages are in flight, SIGKILL a node that is working (a relay that
    // just queued or sent a packet, or bob while he collects shards) at a random moment,
    // leave it dead for a random while, restart it. Bounded in count and time.
    let chaos_end = Instant::now() + Duration::from_secs(240);
    let mut kills: Vec<String> = Vec::new();
    let received = |net: &Network| {
        sent.iter()
            .filter(|s| net.bob.events.any(|e| e.is("message_received", &s.id)))
            .count()
    };
    while kills.len() < 24 && Instant::now() < chaos_end && received(&net) < sent.len() {
        std::thread::sleep(Duration::from_millis(rng.gen_range(200..1500)));
        let window = Duration::from_secs(3);
        let relays: Vec<usize> = (0..net.relays.len())
            .filter(|i| busy(&net.relays[*i], window))
            .collect();
        let bob_killed = kills.iter().any(|k| k == "bob");
        let pick_bob =
            busy(&net.bob, window) && (!bob_killed || relays.is_empty() || rng.gen_bool(0.3));
        let victim: &mut Node = if pick_bob {
            &mut net.bob
        } else if !relays.is_empty() {
            let i = relays[rng.gen_range(0..relays.len())];
            &mut net.relays[i]
        } else {
            continue;
        };
        // A random point: within the next half second of its work.
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..500)));
        let name = victim.name.clone();
        victim.kill9();
        let dead = Duration::from_millis(rng.gen_range(100..1500));
        std::thread::sleep(dead);
        victim.start();
        progress(
            net.started,
            format!("kill -9 {name}, restarted after {} ms", dead.as_millis()),
        );
        kills.push(name);
    }
    let relays_killed: std::collections::BTreeSet<&String> =
        kills.iter().filter(|k| k.starts_with("relay")).collect();
    progress(net.started, format!("{} kills: {kills:?}", kills.len()));
    assert!(
        kills.iter().any(|k| k == "bob") && relays_killed.len() >= 2,
        "the chaos did not reach enough nodes while messages were in flight: {kills:?}"
    );

    net.await_delivery(&sent, Duration::from_secs(900));
    for s in &sent {
        net.verify_received(s);
    }
    net.verify_exactly_once(&sent);
    // A relay killed between sending a packet and recording it sends it again after the
    // restart; the next hop must reject that copy as a replay. Nothing else may be rejected.
    net.assert_no_rejections(true);
    let replays = net.events_where(|e| e.kind() == "packet_rejected").len();
    progress(
        net.started,
        format!("done; {replays} duplicate copies rejected as replays"),
    );
}

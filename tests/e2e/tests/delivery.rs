//! 1 MiB messages at every level and 25 MiB ones at every level above "direct" arrive
//! intact, and the receipt comes back to the sender (real Postfix + Dovecot, real
//! `mailvortex` daemons), over a network set up as docs/running-a-node.md says: relays know
//! the relay list only, never the two ends.

use std::time::Duration;

use mailvortex_e2e::net::{NetOptions, Network, Sent};
use mailvortex_e2e::{exclusive, human, progress, quick, rng};

const MIB: usize = 1024 * 1024;
const LEVELS: [&str; 4] = ["fast", "standard", "strong", "maximum"];

fn deliver(net: &Network, sent: &[Sent], timeout: Duration) {
    let arrivals = net.await_delivery(sent, timeout);
    for (s, a) in sent.iter().zip(&arrivals) {
        net.verify_received(s);
        progress(
            net.started,
            format!(
                "{} at {:8}: {} packets, intact at bob after {:.1} s, receipt at alice after {:.1} s",
                human(s.size),
                s.level,
                s.packets,
                a.received.as_secs_f64(),
                a.receipt.as_secs_f64()
            ),
        );
    }
    net.verify_exactly_once(sent);
    net.assert_no_rejections(false);
}

/// 1 MiB at every level, all in flight at once, to a recipient no relay knows.
#[test]
fn one_mib_at_every_level_arrives_intact_with_receipt() {
    let _serial = exclusive();
    let mut rng = rng("one_mib_at_every_level");
    let net = Network::start(&NetOptions::new("d1", "127.0.21"));
    net.assert_relays_do_not_know_the_ends();
    let sent: Vec<Sent> = std::iter::once(&"direct")
        .chain(LEVELS.iter())
        .map(|level| {
            let file = net.payload(&format!("1mib-{level}.bin"), MIB, None, &mut rng);
            net.send(&file, &format!("one MiB at {level}"), level)
        })
        .collect();
    deliver(&net, &sent, Duration::from_secs(600));
    progress(net.started, "done");
}

/// 25 MiB at each of the four levels, all in flight at once (about 22,000 carrier mails;
/// 8 minutes here). `MVX_E2E_QUICK=1`: only "standard" and "maximum" (the default level and
/// the one with the most packets and hops; 5 minutes).
#[test]
fn twenty_five_mib_arrives_intact_with_receipt() {
    let _serial = exclusive();
    let mut rng = rng("twenty_five_mib");
    let mut opts = NetOptions::new("d25", "127.0.26");
    // The run takes minutes: a smaller factor keeps protocol time within the keys' lifetime.
    opts.time_factor = 400.0;
    let net = Network::start(&opts);
    let levels: Vec<&str> = if quick() {
        vec!["standard", "maximum"]
    } else {
        LEVELS.to_vec()
    };
    let sent: Vec<Sent> = levels
        .iter()
        .map(|level| {
            let file = net.payload(&format!("25mib-{level}.bin"), 25 * MIB, None, &mut rng);
            net.send(&file, &format!("25 MiB at {level}"), level)
        })
        .collect();
    deliver(&net, &sent, Duration::from_secs(2400));
    progress(net.started, "done");
}

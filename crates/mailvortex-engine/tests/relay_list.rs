//! Relay list import: a relay named in the list skips itself, and an import is all or nothing.

use mailvortex_engine::localnet::LocalNetwork;
use mailvortex_engine::{Clock, EngineError};
use mailvortex_proto::descriptor::PeerType;
use mailvortex_proto::identity::Identity;

#[test]
fn a_relay_in_the_list_skips_itself_and_imports_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 3, 0, Clock::system()).expect("network");
    let me = net
        .stranger(&dir.path().join("me"), "me@r1.example", PeerType::Public)
        .expect("stranger");
    let directory = &net.relays[0];
    // This node's own descriptor sits in the middle, as in a directory's real list.
    let ds = vec![
        net.relays[1].descriptor().expect("d").1,
        me.descriptor().expect("d").1,
        net.relays[2].descriptor().expect("d").1,
        directory.descriptor().expect("d").1,
    ];
    let list = directory.sign_relay_list(&ds, 30).expect("sign");

    let result = me
        .import_relay_list(&list, &directory.node_id())
        .expect("import succeeds");
    assert_eq!(result.imported.len(), 3, "{result:?}");
    assert!(result.imported.iter().all(|p| p.new));
    assert_eq!(result.skipped.len(), 1);
    assert_eq!(result.skipped[0].address, "me@r1.example");
    assert_eq!(result.skipped[0].node_id, me.node_id().to_hex());
    assert_eq!(me.peers().expect("peers").len(), 3);

    // Importing again updates, still skipping itself.
    let again = me
        .import_relay_list(&list, &directory.node_id())
        .expect("second import");
    assert!(again.imported.iter().all(|p| !p.new));
    assert_eq!(again.skipped.len(), 1);
}

#[test]
fn one_bad_entry_imports_nothing_and_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::system();
    let net = LocalNetwork::create(dir.path(), 3, 0, clock.clone()).expect("network");
    let me = net
        .stranger(&dir.path().join("me"), "me@r1.example", PeerType::Passive)
        .expect("stranger");
    let mut bad = net.relays[1].descriptor().expect("d").1;
    let last = bad.len() - 1;
    bad[last] ^= 0x01; // breaks the relay's own signature
    let ds = vec![
        net.relays[0].descriptor().expect("d").1,
        bad,
        net.relays[2].descriptor().expect("d").1,
    ];
    let directory = Identity::from_secret_bytes(&[7u8; 32]);
    let now = clock.now_secs();
    let list = mailvortex_proto::relay_list::sign_relay_list(&directory, &ds, now, now + 86_400)
        .expect("sign");

    let err = me
        .import_relay_list(&list, &directory.node_id())
        .expect_err("a bad entry fails the import");
    assert!(matches!(err, EngineError::Invalid(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("entry 2 of 3"), "{text}");
    assert!(text.contains("relay2@r2.example"), "{text}");
    assert!(text.contains("nothing imported"), "{text}");
    assert!(me.peers().expect("peers").is_empty(), "nothing stored");
}

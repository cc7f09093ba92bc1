//! The route planner: picks relays for a level from known nodes.
//!
//! Rules: a node never appears twice on a path; the sender and the recipient are never relays;
//! only nodes whose peer type relays are used; on each path, mail providers are distinct from
//! each other and from the sender's and recipient's where the pool allows it; parallel paths
//! share as few relays as the pool allows. Randomness comes in as an argument.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::RngCore;

use crate::descriptor::Descriptor;
use crate::error::Error;
use crate::identity::NodeId;
use crate::level::LevelParams;

/// What the planner needs to know of a candidate relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayCandidate {
    /// The node.
    pub node_id: NodeId,
    /// Its mail provider (domain, lower case).
    pub provider: String,
}

impl From<&Descriptor> for RelayCandidate {
    fn from(d: &Descriptor) -> Self {
        RelayCandidate {
            node_id: d.node_id,
            provider: d.provider(),
        }
    }
}

/// One path: the relays in order (the recipient follows the last one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPath {
    /// Relays, first hop first.
    pub relays: Vec<NodeId>,
}

/// The two ends a route joins.
#[derive(Debug, Clone)]
pub struct RouteEnds<'a> {
    /// The sender's node and provider.
    pub sender: (&'a NodeId, &'a str),
    /// The recipient's node and provider.
    pub recipient: (&'a NodeId, &'a str),
}

/// Picks `level.parallel_paths` paths of `level.relays_per_path` relays each.
///
/// `pool` are the usable relays (the caller has already dropped nodes it avoids, such as
/// unresponsive ones). Fails if the pool has fewer distinct relays than one path needs.
pub fn plan_paths<R: RngCore>(
    level: &LevelParams,
    ends: &RouteEnds<'_>,
    pool: &[RelayCandidate],
    rng: &mut R,
) -> Result<Vec<PlannedPath>, Error> {
    let eligible: Vec<&RelayCandidate> = pool
        .iter()
        .filter(|c| c.node_id != *ends.sender.0 && c.node_id != *ends.recipient.0)
        .collect();
    let hops = usize::from(level.relays_per_path);
    // Nodes and providers get small indices once, so that each pick below is a scan of array
    // look-ups: a big message spread over a hundred paths stays cheap to plan.
    let nodes: BTreeMap<NodeId, usize> = eligible
        .iter()
        .map(|c| c.node_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    if nodes.len() < hops {
        return Err(Error::Route("not enough known relays for this level"));
    }
    let mut provider_names: BTreeMap<&str, usize> = BTreeMap::new();
    for p in [ends.sender.1, ends.recipient.1]
        .into_iter()
        .chain(eligible.iter().map(|c| c.provider.as_str()))
    {
        let next = provider_names.len();
        provider_names.entry(p).or_insert(next);
    }
    // (node index, provider index) of each eligible candidate, in pool order.
    let keys: Vec<(usize, usize)> = eligible
        .iter()
        .map(|c| (nodes[&c.node_id], provider_names[c.provider.as_str()]))
        .collect();
    let ends_providers = [
        provider_names[ends.sender.1],
        provider_names[ends.recipient.1],
    ];
    let mut used_anywhere = vec![false; nodes.len()];
    let mut options: Vec<usize> = Vec::with_capacity(eligible.len());
    let mut paths = Vec::with_capacity(usize::from(level.parallel_paths));
    for _ in 0..level.parallel_paths.max(1) {
        let mut on_path = vec![false; nodes.len()];
        let mut providers = vec![false; provider_names.len()];
        for p in ends_providers {
            providers[p] = true;
        }
        let mut path: Vec<NodeId> = Vec::with_capacity(hops);
        for _ in 0..hops {
            // Preference tiers: unused anywhere + new provider, then new provider, then unused
            // anywhere, then anything not yet on this path.
            let tiers: [&dyn Fn(usize, usize) -> bool; 4] = [
                &|n, p| !used_anywhere[n] && !providers[p],
                &|_, p| !providers[p],
                &|n, _| !used_anywhere[n],
                &|_, _| true,
            ];
            let mut chosen = None;
            for tier in tiers {
                options.clear();
                options.extend(
                    keys.iter()
                        .enumerate()
                        .filter(|(_, (n, p))| !on_path[*n] && tier(*n, *p))
                        .map(|(i, _)| i),
                );
                if !options.is_empty() {
                    chosen = Some(options[uniform_index(rng, options.len())]);
                    break;
                }
            }
            let Some(i) = chosen else {
                return Err(Error::Route("not enough known relays for this level"));
            };
            let (n, p) = keys[i];
            path.push(eligible[i].node_id);
            on_path[n] = true;
            providers[p] = true;
            used_anywhere[n] = true;
        }
        paths.push(PlannedPath { relays: path });
    }
    Ok(paths)
}

/// A uniform index below `n` (`n > 0`) without modulo bias.
pub(crate) fn uniform_index<R: RngCore>(rng: &mut R, n: usize) -> usize {
    let n = n as u64;
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let v = rng.next_u64();
        if v < zone {
            return (v % n) as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::LevelName;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn pool(n: usize, providers: usize) -> Vec<RelayCandidate> {
        (0..n)
            .map(|i| RelayCandidate {
                node_id: NodeId([i as u8 + 10; 32]),
                provider: format!("p{}.test", i % providers),
            })
            .collect()
    }

    #[test]
    fn paths_follow_the_rules() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (s, r) = (NodeId([1; 32]), NodeId([2; 32]));
        let ends = RouteEnds {
            sender: (&s, "ps.test"),
            recipient: (&r, "pr.test"),
        };
        for level in LevelName::ALL {
            let p = level.params();
            for _ in 0..50 {
                let paths = plan_paths(&p, &ends, &pool(20, 10), &mut rng).expect("enough relays");
                assert_eq!(paths.len(), usize::from(p.parallel_paths));
                let mut all = BTreeSet::new();
                for path in &paths {
                    assert_eq!(path.relays.len(), usize::from(p.relays_per_path));
                    let set: BTreeSet<_> = path.relays.iter().collect();
                    assert_eq!(set.len(), path.relays.len(), "node twice on a path");
                    assert!(!path.relays.contains(&s) && !path.relays.contains(&r));
                    all.extend(path.relays.iter().copied());
                }
                // 20 relays are enough for disjoint paths at every level.
                assert_eq!(
                    all.len(),
                    paths.iter().map(|p| p.relays.len()).sum::<usize>()
                );
            }
        }
    }

    #[test]
    fn distinct_providers_when_possible() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (s, r) = (NodeId([1; 32]), NodeId([2; 32]));
        let ends = RouteEnds {
            sender: (&s, "p0.test"),
            recipient: (&r, "p1.test"),
        };
        let p = LevelName::Standard.params();
        for _ in 0..100 {
            let relays = pool(12, 6);
            let paths = plan_paths(&p, &ends, &relays, &mut rng).expect("plan");
            let provs: BTreeSet<_> = paths[0]
                .relays
                .iter()
                .map(|id| {
                    relays
                        .iter()
                        .find(|c| c.node_id == *id)
                        .map(|c| c.provider.clone())
                        .unwrap_or_default()
                })
                .collect();
            assert_eq!(provs.len(), 3);
            assert!(!provs.contains("p0.test") && !provs.contains("p1.test"));
        }
    }

    #[test]
    fn too_small_pool_fails_cleanly() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (s, r) = (NodeId([1; 32]), NodeId([2; 32]));
        let ends = RouteEnds {
            sender: (&s, "a"),
            recipient: (&r, "b"),
        };
        let err = plan_paths(&LevelName::Maximum.params(), &ends, &pool(4, 4), &mut rng);
        assert!(matches!(err, Err(Error::Route(_))));
        // Direct needs no relays at all.
        let direct = plan_paths(&LevelName::Direct.params(), &ends, &[], &mut rng).expect("direct");
        assert_eq!(direct, vec![PlannedPath { relays: vec![] }]);
    }
}

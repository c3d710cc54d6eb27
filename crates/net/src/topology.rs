//! Nodes, point-to-point links, and static routes (shortest paths in hops, fixed at build).

use std::collections::{BTreeMap, VecDeque};
use synack_link::Way;

/// A node's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// A link's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u32);

/// Static routes: for each node, the link (and direction) toward each address.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    next: Vec<BTreeMap<u32, (LinkId, Way)>>,
}

impl Routes {
    /// Routes over `links` (each `(a, b)`: forward is a to b) for nodes owning `addrs`.
    /// Every address is reached by a shortest path in hops; ties go to the lower link.
    pub fn compute(nodes: usize, links: &[(NodeId, NodeId)], addrs: &[(u32, NodeId)]) -> Self {
        let mut adjacent: Vec<Vec<(NodeId, LinkId, Way)>> = vec![Vec::new(); nodes];
        for (i, &(a, b)) in links.iter().enumerate() {
            adjacent[a.0 as usize].push((b, LinkId(i as u32), Way::Forward));
            adjacent[b.0 as usize].push((a, LinkId(i as u32), Way::Backward));
        }
        let mut next = vec![BTreeMap::new(); nodes];
        for &(addr, owner) in addrs {
            // Breadth-first from the owner: each node learns the hop that leads toward it.
            let mut seen = vec![false; nodes];
            seen[owner.0 as usize] = true;
            let mut queue = VecDeque::from([owner]);
            while let Some(n) = queue.pop_front() {
                for &(m, link, way) in &adjacent[n.0 as usize] {
                    if seen[m.0 as usize] {
                        continue;
                    }
                    seen[m.0 as usize] = true;
                    // m sends toward n over `link`, in the opposite direction.
                    let back = if way == Way::Forward {
                        Way::Backward
                    } else {
                        Way::Forward
                    };
                    next[m.0 as usize].insert(addr, (link, back));
                    queue.push_back(m);
                }
            }
        }
        Routes { next }
    }

    /// The hop from `node` toward `addr`, if it is reachable.
    pub fn next_hop(&self, node: NodeId, addr: u32) -> Option<(LinkId, Way)> {
        self.next.get(node.0 as usize)?.get(&addr).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_routes_go_through_the_router() {
        // 0 = router, 1 and 2 clients, 3 server.
        let links = [
            (NodeId(1), NodeId(0)),
            (NodeId(2), NodeId(0)),
            (NodeId(0), NodeId(3)),
        ];
        let routes = Routes::compute(
            4,
            &links,
            &[(10, NodeId(1)), (20, NodeId(2)), (30, NodeId(3))],
        );
        assert_eq!(
            routes.next_hop(NodeId(1), 30),
            Some((LinkId(0), Way::Forward))
        );
        assert_eq!(
            routes.next_hop(NodeId(0), 30),
            Some((LinkId(2), Way::Forward))
        );
        assert_eq!(
            routes.next_hop(NodeId(3), 20),
            Some((LinkId(2), Way::Backward))
        );
        assert_eq!(
            routes.next_hop(NodeId(0), 20),
            Some((LinkId(1), Way::Backward))
        );
        assert_eq!(routes.next_hop(NodeId(3), 99), None);
    }
}

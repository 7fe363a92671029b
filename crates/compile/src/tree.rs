//! The decision tree: what the program decides, before any instruction exists.
//!
//! In: nodes made by [`TreeBuilder`] (the builder in [`crate::build`] makes
//! them from a policy). Out: a [`DecisionTree`], an immutable DAG whose inner
//! nodes test one 32-bit word of `seccomp_data` against a constant and whose
//! leaves return a raw action value. The emitter turns each node into one
//! block of cBPF.
//!
//! The tree is hash-consed: building the same node twice yields the same
//! [`NodeId`], so identical tails (one `ret` per action, one argument check
//! shared by several syscalls) exist once. Node ids are handed out in
//! creation order and children are always built before their parents, so
//! every edge goes from a larger id to a smaller one; the DAG has no cycles by
//! construction.
//!
//! The builder simplifies as it goes ([`TreeBuilder::branch`]): a test whose
//! two edges meet is dropped, a test whose outcome follows from its mask or
//! constant is folded, and a test repeated on the edge of the same test is
//! threaded. It does not check that a test's word means anything for the arch
//! (the caller picks offsets).

use sysfence_exact::store::FastMap;

use sysfence_cbpf::SeccompData;

/// A node of a [`DecisionTree`]: an index into its node list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The index into the node list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The comparison of a test: the four K-form conditional jumps of cBPF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `jeq #k`: `A == k`.
    Eq,
    /// `jgt #k`: `A > k` (unsigned).
    Gt,
    /// `jge #k`: `A >= k` (unsigned).
    Ge,
    /// `jset #k`: `A & k != 0`.
    Set,
}

impl Cmp {
    /// Whether the comparison holds for accumulator value `a`.
    pub fn holds(self, a: u32, k: u32) -> bool {
        match self {
            Cmp::Eq => a == k,
            Cmp::Gt => a > k,
            Cmp::Ge => a >= k,
            Cmp::Set => a & k != 0,
        }
    }
}

/// One test: load the word at `offset`, optionally `and #mask`, compare with `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Test {
    /// Byte offset of the 32-bit word in `seccomp_data` (0 nr, 4 arch, 16.. args).
    pub offset: u32,
    /// An `and #mask` applied after the load, if any.
    pub mask: Option<u32>,
    /// The comparison.
    pub cmp: Cmp,
    /// Its constant.
    pub k: u32,
}

impl Test {
    /// Whether the test holds for `data`.
    pub fn holds(&self, data: &SeccompData) -> bool {
        let word = data.word(self.offset);
        self.cmp.holds(word & self.mask.unwrap_or(u32::MAX), self.k)
    }

    /// The outcome when it does not depend on the accumulator, if so.
    fn constant(&self) -> Option<bool> {
        match (self.mask, self.cmp) {
            (Some(0), cmp) => Some(cmp.holds(0, self.k)),
            (_, Cmp::Gt) if self.k == u32::MAX => Some(false),
            (_, Cmp::Ge) if self.k == 0 => Some(true),
            (_, Cmp::Set) if self.k == 0 => Some(false),
            (Some(m), Cmp::Eq) if self.k & !m != 0 => Some(false),
            _ => None,
        }
    }

    /// The same test in its cheapest equivalent form.
    fn canonical(mut self) -> Test {
        if self.mask == Some(u32::MAX) {
            self.mask = None;
        }
        if let (Some(m), Cmp::Set) = (self.mask, self.cmp) {
            self.k &= m;
            self.mask = None;
        }
        // Only one value passes `>= 0xffffffff` or `> 0xfffffffe`: say so.
        match (self.cmp, self.k) {
            (Cmp::Ge, u32::MAX) | (Cmp::Gt, 0xffff_fffe) => {
                self.cmp = Cmp::Eq;
                self.k = u32::MAX;
            }
            _ => {}
        }
        self
    }
}

/// A node: a return or a two-way test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// `ret #raw`.
    Ret(u32),
    /// Test, then go to `then` when it holds and to `other` when not.
    Branch {
        /// The test.
        test: Test,
        /// Where to go when it holds.
        then: NodeId,
        /// Where to go when it does not.
        other: NodeId,
    },
}

/// What the builder decided for one arch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchInfo {
    /// The AUDIT_ARCH value.
    pub audit_arch: u32,
    /// The arch's display name.
    pub name: String,
    /// The number of syscall-number intervals (maximal runs with one decision).
    pub intervals: usize,
    /// The syscall-number dispatch of this arch (after `ld [0]`).
    pub dispatch: NodeId,
}

/// A finished decision DAG with its root. Immutable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionTree {
    nodes: Vec<Node>,
    root: NodeId,
    arches: Vec<ArchInfo>,
}

impl DecisionTree {
    /// The arches in dispatch order.
    pub fn arches(&self) -> &[ArchInfo] {
        &self.arches
    }

    /// The node the program starts at.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// One node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// Every node, children before parents.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The raw return value the tree gives for `data`, and the number of
    /// tests on the way.
    pub fn eval(&self, data: &SeccompData) -> (u32, usize) {
        let mut at = self.root;
        let mut tests = 0;
        loop {
            match self.nodes[at.index()] {
                Node::Ret(raw) => return (raw, tests),
                Node::Branch { test, then, other } => {
                    tests += 1;
                    at = if test.holds(data) { then } else { other };
                }
            }
        }
    }
}

/// Makes hash-consed, simplified nodes.
///
/// Invariant (holds after every method): every `Branch` in `nodes` refers to
/// smaller ids only, and no two entries of `nodes` are equal.
#[derive(Debug, Default)]
pub struct TreeBuilder {
    nodes: Vec<Node>,
    index: FastMap<Node, NodeId>,
}

impl TreeBuilder {
    /// An empty builder.
    pub fn new() -> TreeBuilder {
        TreeBuilder::default()
    }

    /// An empty builder with room for `nodes` nodes before it grows.
    pub fn with_capacity(nodes: usize) -> TreeBuilder {
        TreeBuilder {
            nodes: Vec::with_capacity(nodes),
            index: FastMap::with_capacity_and_hasher(nodes, Default::default()),
        }
    }

    /// The node `ret #raw`.
    pub fn ret(&mut self, raw: u32) -> NodeId {
        self.intern(Node::Ret(raw))
    }

    /// A test with its two successors, simplified: equal successors or a
    /// constant outcome drop the test, and a successor that repeats the same
    /// test is skipped to the edge that test would take.
    pub fn branch(&mut self, test: Test, then: NodeId, other: NodeId) -> NodeId {
        let test = test.canonical();
        match test.constant() {
            Some(true) => return then,
            Some(false) => return other,
            None => {}
        }
        let then = self.follow(then, &test, true);
        let other = self.follow(other, &test, false);
        if then == other {
            return then;
        }
        self.intern(Node::Branch { test, then, other })
    }

    /// One node of the builder.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// For every node so far, the most tests on any path from it to a `ret`.
    /// Successors are always built before the node that names them, so one
    /// pass in index order sees every successor first.
    pub fn heights(&self) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let h = match *node {
                Node::Ret(_) => 0,
                Node::Branch { then, other, .. } => 1 + out[then.index()].max(out[other.index()]),
            };
            out.push(h);
        }
        out
    }

    /// Finishes the DAG at `root`.
    pub fn finish(self, root: NodeId, arches: Vec<ArchInfo>) -> DecisionTree {
        DecisionTree {
            nodes: self.nodes,
            root,
            arches,
        }
    }

    /// Skips nodes that repeat `test`, whose outcome on this edge is `known`.
    fn follow(&self, mut at: NodeId, test: &Test, known: bool) -> NodeId {
        while let Node::Branch {
            test: t,
            then,
            other,
        } = self.nodes[at.index()]
        {
            if t != *test {
                break;
            }
            at = if known { then } else { other };
        }
        at
    }

    fn intern(&mut self, node: Node) -> NodeId {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(node);
        self.index.insert(node, id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(cmp: Cmp, k: u32) -> Test {
        Test {
            offset: 0,
            mask: None,
            cmp,
            k,
        }
    }

    #[test]
    fn identical_nodes_are_shared() {
        let mut b = TreeBuilder::new();
        let (a, d) = (b.ret(1), b.ret(2));
        assert_eq!(b.ret(1), a);
        let x = b.branch(t(Cmp::Eq, 5), a, d);
        assert_eq!(b.branch(t(Cmp::Eq, 5), a, d), x);
        assert_eq!(b.nodes.len(), 3);
    }

    #[test]
    fn constant_and_meeting_tests_fold() {
        let mut b = TreeBuilder::new();
        let (a, d) = (b.ret(1), b.ret(2));
        assert_eq!(b.branch(t(Cmp::Eq, 5), a, a), a);
        assert_eq!(b.branch(t(Cmp::Gt, u32::MAX), a, d), d);
        assert_eq!(b.branch(t(Cmp::Ge, 0), a, d), a);
        assert_eq!(b.branch(t(Cmp::Set, 0), a, d), d);
        let masked = Test {
            offset: 16,
            mask: Some(0xf0),
            cmp: Cmp::Eq,
            k: 0x0f,
        };
        assert_eq!(b.branch(masked, a, d), d);
        let zero = Test {
            offset: 16,
            mask: Some(0),
            cmp: Cmp::Eq,
            k: 0,
        };
        assert_eq!(b.branch(zero, a, d), a);
        assert_eq!(b.nodes.len(), 2);
    }

    #[test]
    fn masked_set_drops_the_and() {
        let mut b = TreeBuilder::new();
        let (a, d) = (b.ret(1), b.ret(2));
        let id = b.branch(
            Test {
                offset: 16,
                mask: Some(0x0f),
                cmp: Cmp::Set,
                k: 0xff,
            },
            a,
            d,
        );
        let Node::Branch { test, .. } = *b.node(id) else {
            panic!("not a branch")
        };
        assert_eq!((test.mask, test.k), (None, 0x0f));
    }

    #[test]
    fn repeated_test_is_threaded() {
        let mut b = TreeBuilder::new();
        let (a, d, e) = (b.ret(1), b.ret(2), b.ret(3));
        let inner = b.branch(t(Cmp::Ge, 10), a, d);
        let outer = b.branch(t(Cmp::Ge, 10), inner, e);
        assert_eq!(
            *b.node(outer),
            Node::Branch {
                test: t(Cmp::Ge, 10),
                then: a,
                other: e
            }
        );
        let tree = b.finish(outer, Vec::new());
        assert_eq!(tree.eval(&SeccompData::new(0, 12)), (1, 1));
        assert_eq!(tree.eval(&SeccompData::new(0, 2)), (3, 1));
    }
}

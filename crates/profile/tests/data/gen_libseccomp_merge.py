"""Generates libseccomp-merge test data (see crates/profile/tests/libseccomp_merge.rs).

usage: /usr/bin/python3 gen_libseccomp_merge.py OUT SEED COUNT   (env MAXC=1|2, SMALL=1, GHSA=1)

Needs Debian's python3-seccomp (libseccomp 2.5.4). Random rule sets on `read`
(x86_64) are added with seccomp_rule_add in profile order; the exported BPF is
run on argument pairs around the rules' constants by the small interpreter
below. Rule sets with two range conditions on one argument where one is
LT/LE are skipped: 2.5.4 merges them wrongly (GHSA-4q85-33p6-j5g6, fixed in
2.6.1, whose behaviour sysfence models), unless GHSA=1, which keeps only
those sets.
"""
import seccomp, random, json, struct, tempfile, sys
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
import os
POOL = [0, 5, 7, 0x80, 0x100, 0xffffffff] if os.environ.get("SMALL") else [0, 5, 7, 0x80, 0x100, 0xffffffff, 0x1_0000_0000, 0x1_0000_0100, 0x1_0000_0200, 0x2_0000_0005]
MAXC = int(os.environ.get("MAXC", "2"))
OPS = {'EQ': seccomp.EQ, 'NE': seccomp.NE, 'LT': seccomp.LT, 'LE': seccomp.LE, 'GT': seccomp.GT, 'GE': seccomp.GE, 'MASKED_EQ': seccomp.MASKED_EQ}
ACTS = [('SCMP_ACT_ALLOW', None, seccomp.ALLOW), ('SCMP_ACT_ERRNO', 2, seccomp.ERRNO(2)), ('SCMP_ACT_ERRNO', 3, seccomp.ERRNO(3)), ('SCMP_ACT_LOG', None, seccomp.LOG)]
def run_bpf(prog, nr, args):
    data = struct.pack('<iIQ6Q', nr, 0xc000003e, 0, *args)
    A = 0; pc = 0
    insns = [struct.unpack('<HBBI', prog[i:i+8]) for i in range(0, len(prog), 8)]
    while True:
        code, jt, jf, k = insns[pc]; pc += 1
        if code == 0x20: A = struct.unpack('<I', data[k:k+4])[0]
        elif code == 0x54: A &= k
        elif code == 0x05: pc += k
        elif code == 0x15: pc += jt if A == k else jf
        elif code == 0x25: pc += jt if A > k else jf
        elif code == 0x35: pc += jt if A >= k else jf
        elif code == 0x45: pc += jt if A & k else jf
        elif code == 0x06: return k
        else: raise Exception('op %x' % code)
def build(default, rules):
    """The exported program, None when libseccomp refuses a rule, 'loop'
    when it does not return within 2 s (built in a child process)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        f = seccomp.SyscallFilter(default[1])
        try:
            for act, conds in rules:
                sargs = [seccomp.Arg(i, OPS[op], v, v2) if op == 'MASKED_EQ' else seccomp.Arg(i, OPS[op], v) for i, op, v, v2 in conds]
                f.add_rule(act[2], 'read', *sargs)
            with tempfile.TemporaryFile() as t:
                f.export_bpf(t); t.seek(0); os.write(w, b'P' + t.read())
        except Exception:
            os.write(w, b'E')
        os._exit(0)
    os.close(w)
    import select
    ready, _, _ = select.select([r], [], [], 2.0)
    if not ready:
        os.kill(pid, 9); os.waitpid(pid, 0); os.close(r)
        return 'loop'
    data = b''
    while True:
        chunk = os.read(r, 65536)
        if not chunk: break
        data += chunk
    os.close(r); os.waitpid(pid, 0)
    return data[1:] if data[:1] == b'P' else None
out = open(sys.argv[1], 'w')
for case in range(int(sys.argv[3]) if len(sys.argv) > 3 else 300):
    default = random.choice([('SCMP_ACT_KILL', seccomp.KILL), ('SCMP_ACT_ERRNO', seccomp.ERRNO(1))])
    rules = []
    for _ in range(random.randint(1, 4)):
        act = random.choice(ACTS)
        idxs = random.sample([0, 1], random.randint(0, MAXC))
        conds = []
        for i in sorted(idxs):
            op = random.choice(list(OPS))
            v = random.choice(POOL); v2 = random.choice(POOL) if op == 'MASKED_EQ' else 0
            conds.append((i, op, v, v2))
        rules.append((act, conds))
    ltle = [i for act, conds in rules for i, op, v, v2 in conds if op in ('LT', 'LE')]
    ranged = [i for act, conds in rules for i, op, v, v2 in conds if op in ('LT', 'LE', 'GT', 'GE')]
    if any(ranged.count(i) > 1 for i in ltle) != bool(os.environ.get("GHSA")):
        continue  # GHSA-4q85-33p6-j5g6: 2.5.4 merges LT/LE with other range nodes wrongly
    prog = build(default, rules)
    if prog == 'loop':
        continue  # libseccomp never returns on this set (the merge test refuses it)
    err = prog is None
    prof = {'defaultAction': default[0], 'syscalls': []}
    for act, conds in rules:
        r = {'names': ['read'], 'action': act[0], 'args': [{'index': i, 'value': v, 'valueTwo': v2, 'op': 'SCMP_CMP_' + op} for i, op, v, v2 in conds]}
        if act[1] is not None: r['errnoRet'] = act[1]
        prof['syscalls'].append(r)
    calls = []; results = []
    if not err:
        vals = set()
        for v in POOL:
            for d in (-1, 0, 1): vals.add((v + d) & (2**64 - 1))
        vals = sorted(vals)
        for _ in range(40):
            a = [random.choice(vals), random.choice(vals)]
            calls.append(a); results.append(run_bpf(prog, 0, a + [0, 0, 0, 0]))
    out.write(json.dumps({'profile': prof, 'error': err, 'calls': calls, 'results': results}) + '\n')

"""Generates libseccomp-x86.jsonl (see crates/profile/tests/libseccomp_merge.rs).

usage: /usr/bin/python3 gen_libseccomp_x86.py OUT          (libseccomp-x86.jsonl)
       ARCH=x32 /usr/bin/python3 gen_libseccomp_x86.py OUT (libseccomp-x32.jsonl)

Needs Debian's python3-seccomp (libseccomp 2.5.4). Random rules on socket,
connect, read and personality go into a filter with x86_64 (native) and x86;
calls are made on both arches, including socketcall(2) with the socket and
connect call numbers, so the data covers libseccomp's multiplexing, its
32-bit argument handling on x86 and its rule merges. The GHSA-4q85-33p6-j5g6
class is skipped as in gen_libseccomp_merge.py.
"""
import seccomp, random, json, struct, tempfile, sys, os
X32 = os.environ.get("ARCH") == "x32"
random.seed(6 if X32 else 5)
POOL = [0, 1, 2, 5, 7, 0x80, 0xffffffff, 0x1_0000_0000, 0x1_0000_0005, 0x2_0000_0001]
OPS = {'EQ': seccomp.EQ, 'NE': seccomp.NE, 'LT': seccomp.LT, 'LE': seccomp.LE, 'GT': seccomp.GT, 'GE': seccomp.GE, 'MASKED_EQ': seccomp.MASKED_EQ}
ACTS = [('SCMP_ACT_ALLOW', None, seccomp.ALLOW), ('SCMP_ACT_ERRNO', 2, seccomp.ERRNO(2)), ('SCMP_ACT_LOG', None, seccomp.LOG)]
def run_bpf(prog, arch, nr, args):
    data = struct.pack('<iIQ6Q', nr, arch, 0, *args)
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
out = open(sys.argv[1], 'w')
for case in range(150):
    rules = []
    for _ in range(random.randint(1, 3)):
        act = random.choice(ACTS)
        name = random.choice(['socket', 'connect', 'read', 'personality'])
        conds = []
        for i in sorted(random.sample([0, 1], random.randint(0, 1))):
            op = random.choice(list(OPS)); v = random.choice(POOL); v2 = random.choice(POOL) if op == 'MASKED_EQ' else 0
            conds.append((i, op, v, v2))
        rules.append((name, act, conds))
    ltle = [(n, i) for n, act, conds in rules for i, op, v, v2 in conds if op in ('LT', 'LE')]
    ranged = [(n, i) for n, act, conds in rules for i, op, v, v2 in conds if op in ('LT', 'LE', 'GT', 'GE')]
    if any(ranged.count(x) > 1 for x in ltle): continue
    f = seccomp.SyscallFilter(seccomp.ERRNO(1)); f.add_arch(seccomp.Arch.X32 if X32 else seccomp.Arch.X86)
    err = False
    try:
        for name, act, conds in rules:
            sargs = [seccomp.Arg(i, OPS[op], v, v2) if op == 'MASKED_EQ' else seccomp.Arg(i, OPS[op], v) for i, op, v, v2 in conds]
            f.add_rule(act[2], name, *sargs)
    except Exception as e:
        err = True
    prof = {'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': ['SCMP_ARCH_X32' if X32 else 'SCMP_ARCH_X86'], 'syscalls': []}
    for name, act, conds in rules:
        r = {'names': [name], 'action': act[0], 'args': [{'index': i, 'value': v, 'valueTwo': v2, 'op': 'SCMP_CMP_' + op} for i, op, v, v2 in conds]}
        if act[1] is not None: r['errnoRet'] = act[1]
        prof['syscalls'].append(r)
    calls = []; results = []
    if not err:
        with tempfile.TemporaryFile() as t:
            f.export_bpf(t); t.seek(0); prog = t.read()
        vals = sorted({(v + d) & (2**64-1) for v in POOL for d in (-1, 0, 1)})
        if X32:
            targets = [(0xc000003e, 0x40000000|41), (0xc000003e, 0x40000000|42), (0xc000003e, 0x40000000), (0xc000003e, 0x40000000|135), (0xc000003e, 41), (0xc000003e, 0), (0xc000003e, 135), (0xc000003e, 0x40000000|1)]
        else:
            targets = [(0x40000003, 102), (0x40000003, 359), (0x40000003, 362), (0x40000003, 3), (0x40000003, 136), (0xc000003e, 41), (0xc000003e, 0), (0xc000003e, 135)]
        for _ in range(60):
            arch, nr = random.choice(targets)
            a = [random.choice(vals) if random.random() < .8 else random.choice([1, 3]), random.choice(vals)]
            calls.append([arch, nr] + a); results.append(run_bpf(prog, arch, nr, a + [0, 0, 0, 0]))
    out.write(json.dumps({'profile': prof, 'error': err, 'calls': calls, 'results': results}) + '\n')

#!/usr/bin/env python3
"""The meson side of scripts/qemu-test: which tests run in the guest, what they need, and what came back.

  suites.py targets BUILD        ninja targets to build: the executables and everything they depend on
  suites.py stage BUILD ROOT     copies them into the initramfs tree ROOT at the same absolute paths
                                 and writes ROOT/etc/ebpfpp-qemu/{tests,env.NAME}
  suites.py report [-v] LOG...   parses serial logs; prints a summary (-v: with the output of each
                                 failed test), exits 1 if anything failed

The selection is in one place, selected_tests(): every gtest test of suite 'integration' in the
build, so a new per-area executable joins the guest runs without touching this script.
"""
import json
import os
import re
import shutil
import subprocess
import sys

# Tests that need something a guest does not have, with the reason.
EXCLUDED = {
    # It compiles vmlinux.h with clang-19 and our eBPF headers at run time: it tests the
    # toolchain against the kernel's BTF, and the host run covers it.
    'btf_dump': 'needs clang-19 at run time',
}

# Tests that fail in a guest today, by kernel (major.minor) and gtest name, with why they are
# listed. The report prints each as KNOWN FAILURE and does not fail the stage for it; any other
# failure does, and so does a listed test that starts to pass (remove it here then). This list is
# work to do, not a skip: every entry is a bug in a new attach area or in its test (a kernel limit
# the test should detect and skip by errno, or a library bug), found by the first guest run
# (2026-11-23) and not yet analysed; "probably" marks a guess from the kernel version alone.
FIRST_GUEST_RUN = 'first guest run of this attach area, not yet analysed'
KNOWN_FAILURES = {
    '6.1': {
    },
    '6.12': {
    },
}


def known_failures(kernel):
    """The KNOWN_FAILURES entry of a kernel release string ('6.1.0-56-amd64' -> '6.1')."""
    m = re.match(r'^(\d+\.\d+)', kernel)
    return KNOWN_FAILURES.get(m.group(1), {}) if m else {}


# Seconds an executable may run in the guest (TCG is 5-20x slower than the host).
GUEST_TIMEOUT_FACTOR = 3


def introspect(build, what):
    """meson's introspection files (what `meson introspect BUILD --tests` prints, without the
    seconds meson takes to start)."""
    with open(os.path.join(build, 'meson-info', f'intro-{what.lstrip("-")}.json')) as f:
        return json.load(f)


def selected_tests(build):
    """The integration gtest executables of the build, with the files they need."""
    targets = {t['id']: t for t in introspect(build, '--targets')}
    # EBPFPP_QEMU_TESTS="uprobe attach_network": only these executables (a quick guest run while
    # working on one area; CI runs them all).
    only = set(os.environ.get('EBPFPP_QEMU_TESTS', '').split())
    selected = []
    for test in introspect(build, '--tests'):
        if not any(s.endswith(':integration') or s == 'integration' for s in test['suite']):
            continue
        if test['protocol'] != 'gtest' or test['name'] in EXCLUDED:
            continue
        if only and test['name'] not in only:
            continue
        files = []
        for dep in test['depends']:
            if dep in targets:
                files += targets[dep]['filename']
        selected.append({
            'name': test['name'],
            'exe': test['cmd'][0],
            'env': test['env'],
            'timeout': max(int(test['timeout'] or 300), 60) * GUEST_TIMEOUT_FACTOR,
            'files': files,
        })
    return selected


def cmd_targets(build):
    build = os.path.abspath(build)
    out = set()
    for test in selected_tests(build):
        out.add(test['exe'])
        out.update(test['files'])
    for path in sorted(out):
        print(os.path.relpath(path, build))


def copy_into(root, path):
    dest = root + os.path.abspath(path)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.isdir(path):
        shutil.copytree(path, dest, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(path, dest)


def is_elf(path):
    with open(path, 'rb') as f:
        return f.read(4) == b'\x7fELF'


def copy_executable(root, path):
    """Copies an executable without its debug info (the initramfs is unpacked into guest RAM),
    plus, when it is linked dynamically, the shared libraries it loads (the guest runs the host's
    userland; only the kernel differs)."""
    copy_into(root, path)
    if not is_elf(path):
        return
    subprocess.run(['strip', '--strip-debug', root + os.path.abspath(path)], check=True)
    interp = subprocess.run(['readelf', '-lW', path], capture_output=True, text=True).stdout
    if 'INTERP' not in interp:
        return
    ldd = subprocess.run(['ldd', path], capture_output=True, text=True, check=True).stdout
    for lib in re.findall(r'(/\S+)', ldd):
        dest = root + lib
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(os.path.realpath(lib), dest)


def cmd_stage(build, root):
    build = os.path.abspath(build)
    conf = os.path.join(root, 'etc', 'ebpfpp-qemu')
    os.makedirs(conf, exist_ok=True)
    lines = []
    for test in selected_tests(build):
        exe = test['exe']
        if not os.path.exists(exe):  # only with EBPFPP_QEMU_NO_BUILD: otherwise ninja built it
            print(f"qemu-test: warning: {exe} is not built: {test['name']} does not run")
            continue
        for path in [exe] + test['files']:
            if not os.path.exists(path):
                print(f"qemu-test: warning: {test['name']} depends on {path}, which is not built")
                continue
            if os.path.isfile(path) and os.access(path, os.X_OK):
                copy_executable(root, path)
            else:
                copy_into(root, path)
        with open(os.path.join(conf, 'env.' + test['name']), 'w') as env:
            for key, value in sorted(test['env'].items()):
                env.write(f"export {key}='{value}'\n")
                # Directories named by the environment (test data in the source tree) come along;
                # the build tree's are already mirrored file by file.
                if not (value.startswith('/') and os.path.isdir(value)):
                    continue
                if value.startswith(build + '/'):
                    os.makedirs(root + value, exist_ok=True)
                else:
                    copy_into(root, value)
        lines.append(f"{test['name']} {test['timeout']} {exe}\n")
    with open(os.path.join(conf, 'tests'), 'w') as f:
        f.writelines(lines)
    for excluded, reason in EXCLUDED.items():
        print(f'qemu-test: not run in the guest: {excluded} ({reason})')


SUMMARY = {
    'passed': re.compile(r'^\[  PASSED  \] (\d+) tests?\.'),
    'skipped': re.compile(r'^\[  SKIPPED \] (\d+) tests?, listed below:'),
    'failed': re.compile(r'^\[  FAILED  \] (\d+) tests?, listed below:'),
}
FAILED_TEST = re.compile(r'^\[  FAILED  \] (\S+)(?: \(\d+ ms\))?$')
SKIPPED_TEST = re.compile(r'^\[  SKIPPED \] (\S+)(?: \(\d+ ms\))?$')


def parse(log):
    """{'kernel', 'done', 'tests': [{name, exit, passed, failed, skipped, failures, skips}]}"""
    result = {'kernel': '?', 'done': False, 'tests': []}
    current = None
    reason = None  # the first line of the last GTEST_SKIP message
    output = None  # the lines of the running test
    expect_reason = False
    with open(log, errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\r\n').replace('\r', '')
            # The firmware's screen clearing can precede a marker on its line.
            marker = line.find('EBPFPP-QEMU-')
            if marker > 0:
                line = line[marker:]
            m = re.match(r'^EBPFPP-QEMU-START kernel=(\S+)', line)
            if m:
                result['kernel'] = m.group(1)
                continue
            m = re.match(r'^EBPFPP-QEMU-BEGIN (\S+)', line)
            if m:
                current = {'name': m.group(1), 'exit': None, 'passed': 0, 'failed': 0, 'skipped': 0,
                           'failures': [], 'skips': [], 'reasons': {}, 'output': {}}
                result['tests'].append(current)
                continue
            m = re.match(r'^EBPFPP-QEMU-RESULT (\S+) exit=(\d+)', line)
            if m and current and current['name'] == m.group(1):
                current['exit'] = int(m.group(2))
                current = None
                continue
            if line.startswith('EBPFPP-QEMU-DONE'):
                result['done'] = True
                continue
            if current is None:
                continue
            if line.startswith('[ RUN      ] '):
                output = [line]
            elif output is not None:
                output.append(line)
            m = re.match(r'^\[  FAILED  \] (\S+) \(\d+ ms\)$', line)
            if m and output is not None:
                current['output'][m.group(1)] = output
                output = None
            for key, pattern in SUMMARY.items():
                m = pattern.match(line)
                if m:
                    current[key] = int(m.group(1))
            m = FAILED_TEST.match(line)
            if m and m.group(1) not in current['failures']:
                current['failures'].append(m.group(1))
            if expect_reason:
                reason, expect_reason = line, False
            if line.endswith(': Skipped'):
                expect_reason = True
            m = SKIPPED_TEST.match(line)
            if m and m.group(1) not in current['skips']:
                current['skips'].append(m.group(1))
                current['reasons'][m.group(1)] = reason or ''
                reason = None
    return result


def cmd_report(logs, verbose):
    ok = True
    for log in logs:
        result = parse(log)
        known = known_failures(result['kernel'])
        print(f"qemu-test: kernel {result['kernel']} ({os.path.basename(log)}):")
        if not result['tests']:
            print('  no test ran')
            ok = False
        for test in result['tests']:
            status = 'ok' if test['exit'] == 0 else (
                'did not finish' if test['exit'] is None else f"exit {test['exit']}")
            print(f"  {test['name']}: {test['passed']} passed, {test['failed']} failed, "
                  f"{test['skipped']} skipped: {status}")
            unexpected = [name for name in test['failures'] if name not in known]
            for name in test['failures']:
                if name in known:
                    print(f'    KNOWN FAILURE {name}: {known[name]}')
                    continue
                print(f'    FAILED {name}')
                if verbose:
                    lines = test['output'].get(name, [])
                    if len(lines) > 40:
                        lines = lines[:20] + [f'... ({len(lines) - 40} lines) ...'] + lines[-20:]
                    for line in lines:
                        print('      | ' + line)
            for name in test['skips']:
                print(f"    skipped {name}: {test['reasons'].get(name, '')[:160]}")
            for name in test['skips']:
                if name in known:
                    print(f'    listed as a known failure but skipped now: {name}')
            # A failing executable exits 1; it counts as a pass of the stage only when each of its
            # failures is a known one (a crash or a timeout never does).
            if test['exit'] != 0 and not (test['exit'] == 1 and test['failures'] and not unexpected):
                ok = False
        if not result['done']:
            print('  the guest did not finish (timeout, panic or crash): see the log')
            ok = False
    return 0 if ok else 1


def main(argv):
    if len(argv) == 3 and argv[1] == 'targets':
        cmd_targets(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == 'stage':
        cmd_stage(argv[2], argv[3])
        return 0
    if len(argv) >= 3 and argv[1] == 'report':
        verbose = '-v' in argv[2:]
        return cmd_report([a for a in argv[2:] if a != '-v'], verbose)
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main(sys.argv))

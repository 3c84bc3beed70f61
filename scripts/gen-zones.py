#!/usr/bin/env python3
"""Writes crates/engine/data/zones.txt, pgplay's compact time zone table, from the system's
IANA tz database (the TZif files of /usr/share/zoneinfo, the same files Debian's PostgreSQL 15
reads, so pgplay and the conformance server agree).

    python3 scripts/gen-zones.py [ZONEINFO_DIR] > crates/engine/data/zones.txt

One line per zone (every zone and link of tzdata.zi, then PostgreSQL's Default abbreviations):
    Name<TAB>=Target                                  a link to another zone
    Name<TAB>POSIX footer<TAB>types<TAB>transitions   a zone
types: `offset,isdst,abbrev` separated by `;` (offset in seconds east of UTC); transitions:
`delta@type` separated by `;`, delta in base 36 seconds after the previous transition (the
first after FROM), type an index into types. The first type is the one before the first
transition. Transitions before FROM (1970) are dropped, keeping the type in force then, and so
are the trailing transitions the POSIX footer gives anyway.
"""
import struct
import sys
import calendar

ABBREVIATIONS = "/usr/share/postgresql/15/timezonesets/Default"
FROM = calendar.timegm((int(__import__("os").environ.get("FROM_YEAR", "1970")), 1, 1, 0, 0, 0))


def b36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    sign = "-" if n < 0 else ""
    n = abs(n)
    out = ""
    while True:
        out = digits[n % 36] + out
        n //= 36
        if n == 0:
            return sign + out


def read_tzif(path):
    data = open(path, "rb").read()
    assert data[:4] == b"TZif", path
    counts = struct.unpack(">6l", data[20:44])
    isut, isstd, leap, timecnt, typecnt, charcnt = counts
    skip = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut
    v2 = data[44 + skip:]
    assert v2[:4] == b"TZif", path
    isut, isstd, leap, timecnt, typecnt, charcnt = struct.unpack(">6l", v2[20:44])
    pos = 44
    times = list(struct.unpack(f">{timecnt}q", v2[pos:pos + timecnt * 8]))
    pos += timecnt * 8
    idx = list(v2[pos:pos + timecnt])
    pos += timecnt
    types = []
    for i in range(typecnt):
        off, dst, ai = struct.unpack(">lBB", v2[pos + i * 6:pos + i * 6 + 6])
        types.append((off, dst, ai))
    pos += typecnt * 6
    chars = v2[pos:pos + charcnt]
    pos += charcnt + leap * 12 + isstd + isut
    footer = v2[pos:].strip(b"\n").decode()
    abbr = lambda ai: chars[ai:chars.index(b"\0", ai)].decode()
    types = [(off, dst, abbr(ai)) for off, dst, ai in types]
    return times, idx, types, footer


# ----- POSIX TZ footers (the M.w.d rule form only, which every zone uses) -----

def parse_posix(s):
    pos = 0

    def name():
        nonlocal pos
        if s[pos] == "<":
            end = s.index(">", pos)
            n = s[pos + 1:end]
            pos = end + 1
            return n
        start = pos
        while pos < len(s) and s[pos].isalpha():
            pos += 1
        return s[start:pos]

    def offset():
        nonlocal pos
        sign = 1
        if s[pos] in "+-":
            sign = -1 if s[pos] == "-" else 1
            pos += 1
        start = pos
        while pos < len(s) and (s[pos].isdigit() or s[pos] == ":"):
            pos += 1
        parts = [int(p) for p in s[start:pos].split(":")] + [0, 0]
        return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])

    std = name()
    std_off = -offset()
    if pos == len(s):
        return (std, std_off, None)
    dst = name()
    dst_off = std_off + 3600
    if pos < len(s) and s[pos] != ",":
        dst_off = -offset()
    rules = []
    for part in s[pos + 1:].split(","):
        date, _, time = part.partition("/")
        assert date[0] == "M", s
        m, w, d = (int(x) for x in date[1:].split("."))
        t = 7200
        if time:
            sign = -1 if time[0] == "-" else 1
            hms = [int(x) for x in time.lstrip("+-").split(":")] + [0, 0]
            t = sign * (hms[0] * 3600 + hms[1] * 60 + hms[2])
        rules.append((m, w, d, t))
    return (std, std_off, (dst, dst_off, rules[0], rules[1]))


def rule_day(year, rule):
    m, w, d, t = rule
    first_wd = (calendar.weekday(year, m, 1) + 1) % 7  # Sunday = 0
    day = 1 + (d - first_wd) % 7 + (w - 1) * 7
    last = calendar.monthrange(year, m)[1]
    while day > last:
        day -= 7
    return calendar.timegm((year, m, day, 0, 0, 0)) + t


def posix_transitions(posix, year):
    """The (utc, offset) transitions of `year` under the footer."""
    std, std_off, dst = posix
    if dst is None:
        return []
    _, dst_off, start, end = dst
    out = [(rule_day(year, start) - std_off, dst_off), (rule_day(year, end) - dst_off, std_off)]
    return sorted(out)


def zone_line(name, path):
    times, idx, types, footer = read_tzif(path)
    posix = parse_posix(footer) if footer else None
    # Drop the trailing transitions the footer reproduces.
    keep = len(times)
    if posix and posix[2] is not None:
        while keep > 0:
            t = times[keep - 1]
            year = calendar.timegm  # noqa
            y = __import__("time").gmtime(t).tm_year
            expected = dict(posix_transitions(posix, y))
            if expected.get(t) == types[idx[keep - 1]][0]:
                keep -= 1
            else:
                break
    elif posix:
        while keep > 0 and types[idx[keep - 1]][0] == posix[1] and keep >= 2 and \
                types[idx[keep - 2]][0] == posix[1]:
            keep -= 1
    times, idx = times[:keep], idx[:keep]
    # The type in force at FROM, then the transitions after it.
    first = 0
    for t, i in zip(times, idx):
        if t <= FROM:
            first = i
    kept = [(t, i) for t, i in zip(times, idx) if t > FROM]
    used = [first] + [i for _, i in kept]
    order = []
    for i in used:
        if types[i] not in order:
            order.append(types[i])
    remap = {i: order.index(types[i]) for i in used}
    type_text = ";".join(f"{off},{dst},{abbr}" for off, dst, abbr in order)
    prev = FROM
    trans = []
    for t, i in kept:
        trans.append(f"{b36(t - prev)}@{remap[i]}")
        prev = t
    return f"{name}\t{footer}\t{type_text}\t{';'.join(trans)}"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/zoneinfo"
    zones, links = [], []
    for line in open(f"{root}/tzdata.zi"):
        fields = line.split()
        if fields and fields[0] == "Z":
            zones.append(fields[1])
        elif fields and fields[0] == "L":
            links.append((fields[2], fields[1]))
    print("# pgplay time zones, generated by scripts/gen-zones.py from the IANA tz database")
    for name in sorted(zones):
        print(zone_line(name, f"{root}/{name}"))
    for name, target in sorted(links):
        print(f"{name}\t={target}")
    # PostgreSQL's Default timezone_abbreviations: `@ABBR<TAB>offset[<TAB>D]` (D: daylight time)
    # or `@ABBR<TAB>=Zone`.
    for line in open(ABBREVIATIONS):
        fields = line.split("#")[0].split()
        if len(fields) >= 2 and not fields[0].startswith("@"):
            value = fields[1] if fields[1].lstrip("-").isdigit() else "=" + fields[1]
            dst = "\tD" if len(fields) > 2 and fields[2] == "D" else ""
            print(f"@{fields[0]}\t{value}{dst}")


main()

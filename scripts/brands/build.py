#!/usr/bin/env python3
"""Build the brand catalogue (crates/outwork-core/data/brands.tsv) from public data.

Reproducible: the same inputs give the same file, byte for byte. Inputs:

  --seed      scripts/brands/seed.tsv      the most impersonated brands, curated
  --curated   scripts/brands/curated.tsv   regional brands, curated (postal, tax,
                                           banks, health insurers, retail, telecom)
  --twofa     DIR   the `entries/` folder of github.com/2factorauth/twofactorauth
                    (MIT): name, domains, categories, regions of ~2,500 services
  --tranco    FILE  the Tranco popularity list (one domain a line): a brand's
                    regional domains are the popular domains with its label
  --phish     FILE  phishing hostnames or URLs (PhishTank, OpenPhish history),
                    repeatable: labels of popular domains that phishing hosts
                    keep embedding are brands phishers target
  --words     DIR   word-frequency lists <lang>.txt ("word count" a line;
                    github.com/hermitdave/FrequencyWords content/2018/*_50k):
                    a brand name that is a common word can only be claimed by a
                    display name, never by running text
  --psl       FILE  the Public Suffix List

The pinned versions used for the committed file are in scripts/brands/README.md.

Output columns: name, keywords (';'-separated; '~' marks a common word),
domains (';'), country (';' or 'global'), sector, source (seed, curated,
twofa, feeds), flags ('t': lookalike target).
"""

import argparse
import glob
import json
import os
import re
import sys
import unicodedata
from collections import Counter, defaultdict

SECTORS = {
    "bank", "payment", "crypto", "postal", "carrier", "tax", "government", "telecom",
    "retail", "saas", "email", "social", "streaming", "insurance", "health",
    "transport", "toll", "utility", "travel", "gaming", "other",
}

# 2factorauth categories -> sector. Universities and schools are left out:
# "University of X" is claimed by every mail about X.
TWOFA_SECTOR = {
    "banking": "bank", "finance": "bank", "investing": "bank", "payments": "payment",
    "cryptocurrencies": "crypto", "insurance": "insurance", "health": "health",
    "government": "government", "utilities": "utility", "postal": "postal",
    "transport": "transport", "retail": "retail", "food": "retail", "email": "email",
    "social": "social", "communication": "saas", "entertainment": "streaming",
    "travel": "travel", "tickets": "travel", "gaming": "gaming", "betting": "gaming",
    "cloud": "saas", "backup": "saas", "hosting": "saas", "developer": "saas",
    "domains": "saas", "marketing": "saas", "security": "saas", "identity": "saas",
    "task": "saas", "remote": "saas", "creativity": "saas", "iot": "saas", "vpn": "saas",
    "legal": "other", "crowdfunding": "other", "other": "other",
}
TWOFA_SKIP = {"universities", "education"}

# Sector preference when one brand has several categories.
SECTOR_RANK = [
    "postal", "carrier", "tax", "government", "toll", "bank", "payment", "crypto",
    "insurance", "health", "telecom", "utility", "email", "retail", "streaming",
    "social", "transport", "travel", "gaming", "saas", "other",
]

# Words of the web that are not brands, however often phishing hosts carry them.
WEB_WORDS = {
    "secure", "security", "login", "signin", "account", "accounts", "verify", "update",
    "online", "support", "service", "services", "webmail", "mail", "email", "office",
    "banking", "wallet", "connect", "portal", "recovery", "confirm", "payment",
    "billing", "invoice", "delivery", "tracking", "customer", "client", "clients",
    "document", "documents", "share", "shared", "storage", "cloud", "drive", "files",
    "download", "website", "webapp", "github", "gitlab", "firebaseapp", "herokuapp",
    "netlify", "vercel", "blogspot", "wordpress", "weebly", "wixsite", "glitch",
    "pages", "workers", "repl", "square", "duckdns", "ngrok", "000webhostapp",
    "webflow", "godaddysites", "myshopify", "azurewebsites", "windows", "appspot",
    "googleapis", "amazonaws", "cloudfront", "digitaloceanspaces", "backblazeb2",
    "ipfs", "dweb", "fleek", "surge", "render", "fly", "railway", "codepen", "jsfiddle",
    "sites", "google", "forms", "docs", "typeform", "jotform", "formstack", "wufoo",
    "sharepoint", "onedrive", "dropbox", "box", "weeblysite", "yolasite", "jimdo",
    "strikingly", "carrd", "notion", "canva", "sway", "office365", "live", "outlook",
    "hotmail", "gmail", "yahoo", "mobile", "app", "apps", "home", "index", "click",
    "track", "link", "links", "redirect", "auth", "oauth", "token", "session",
    "wallets", "crypto", "token", "tokens", "airdrop", "claim", "rewards", "reward",
    "bonus", "promo", "gift", "giftcard", "refund", "tax", "taxes", "post", "parcel",
    "package", "shipment", "express", "global", "world", "group", "international",
    "digital", "network", "systems", "solutions", "tech", "technology", "media",
    "studio", "design", "market", "store", "shop", "shopping", "official", "center",
    "centre", "info", "news", "blog", "forum", "community", "free", "best", "first",
}

# Software and infrastructure whose names phishing hosts carry because kits
# are built with them, not because the mail claims them.
NOT_BRANDS = {
    "nextjs", "phpmyadmin", "magento", "woocommerce", "tencentclb", "timelineimages",
    "rentry", "infura", "openid", "calstatela", "ovhcloud", "multichain",
}

MIN_TARGET_HOSTS = 10  # distinct phishing hosts that embed a label before it counts


def load_psl(path):
    rules, wild, exc = set(), set(), set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            rule = line.split()[0].lower()
            rule = rule.encode("idna").decode() if not rule.isascii() else rule
            if rule.startswith("!"):
                exc.add(rule[1:])
            elif rule.startswith("*."):
                wild.add(rule[2:])
            else:
                rules.add(rule)
    return rules, wild, exc


def registrable(host, psl):
    rules, wild, exc = psl
    labels = host.lower().strip(".").split(".")
    if len(labels) < 2:
        return None
    # Longest matching public suffix.
    for i in range(len(labels)):
        suffix = ".".join(labels[i:])
        parent = ".".join(labels[i + 1:])
        if suffix in exc:
            n = i + 1
            break
        if suffix in rules or (parent and parent in wild):
            n = i
            break
    else:
        n = len(labels) - 1
    if n == 0:
        return None
    return ".".join(labels[n - 1:])


def label_of(reg):
    return reg.split(".", 1)[0]


def fold(s):
    """Lower-case ASCII letters and digits only: how names are compared here."""
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s.lower() if c.isascii() and c.isalnum())


def load_words(path, top=5000):
    common = set()
    if not path:
        return common
    for f in sorted(glob.glob(os.path.join(path, "*.txt"))):
        with open(f, encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh):
                if i >= top:
                    break
                w = line.split(" ", 1)[0].strip().lower()
                if w:
                    common.add(fold(w))
    return common


class Catalogue:
    def __init__(self, psl):
        self.psl = psl
        self.brands = []  # dicts
        self.by_domain = {}
        self.by_name = {}

    def find(self, name, domains):
        for d in domains:
            if d in self.by_domain:
                return self.by_domain[d]
        return self.by_name.get(fold(name))

    def add(self, name, aliases, domains, countries, sector, source, flags=""):
        domains = [d.strip().lower().rstrip(".") for d in domains if d.strip()]
        domains = [d for d in domains if "." in d and "/" not in d and " " not in d]
        if not domains or not name.strip():
            return None
        i = self.find(name, domains)
        if i is None:
            i = len(self.brands)
            self.brands.append({
                "name": name.strip(), "aliases": [], "domains": [], "countries": [],
                "sectors": [], "source": source, "flags": flags,
            })
            self.by_name.setdefault(fold(name), i)
        b = self.brands[i]
        names = [name] + list(aliases)
        # "Amazon Web Services (AWS)": both halves are names.
        for a in list(names):
            m = re.match(r"^(.+?)\s*\((.+)\)\s*$", a)
            if m:
                names += [m.group(1), m.group(2)]
        for a in names:
            a = a.strip()
            if "(" in a:
                continue
            if a and a not in b["aliases"]:
                b["aliases"].append(a)
        for d in domains:
            if d not in b["domains"]:
                b["domains"].append(d)
            self.by_domain.setdefault(d, i)
        for c in countries:
            c = c.strip().lower()
            if c and c not in b["countries"]:
                b["countries"].append(c)
        if sector:
            b["sectors"].append(sector)
        if "t" in flags and "t" not in b["flags"]:
            b["flags"] += "t"
        return i


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for n, line in enumerate(f, 2):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 5:
                print(f"{path}:{n}: {len(cols)} columns, want 5; skipped", file=sys.stderr)
                continue
            rows.append(dict(zip(header, cols)))
    return rows


def split(v):
    return [x.strip() for x in v.split(";") if x.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", required=True)
    ap.add_argument("--curated")
    ap.add_argument("--twofa")
    ap.add_argument("--tranco", required=True)
    ap.add_argument("--phish", action="append", default=[])
    ap.add_argument("--words")
    ap.add_argument("--psl", required=True)
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()

    psl = load_psl(a.psl)
    common = load_words(a.words)
    # Less common words are names only where they are the brand's own
    # domain label (netflix.com), not a bare word (Techniker); names from
    # the bulk sources (2factorauth, feeds) must not be any word at all
    # (Buffer, Segment, Domain, Medium are services and words).
    uncommon = load_words(a.words, 20000)
    vocabulary = load_words(a.words, 50000)
    cat = Catalogue(psl)

    for r in read_tsv(a.seed):
        cat.add(r["name"], split(r["aliases"]), split(r["domains"]), split(r["country"]),
                r["sector"], "seed", "t")
    if a.curated:
        for r in read_tsv(a.curated):
            sector = r["sector"].strip() if r["sector"].strip() in SECTORS else "other"
            cat.add(r["name"], split(r["aliases"]), split(r["domains"]), split(r["country"]),
                    sector, "curated")
    if a.twofa:
        for f in sorted(glob.glob(os.path.join(a.twofa, "*", "*.json"))):
            with open(f, encoding="utf-8") as fh:
                data = json.load(fh)
            for name, e in sorted(data.items()):
                cats = e.get("categories", [])
                if any(c in TWOFA_SKIP for c in cats):
                    continue
                doms = [e.get("domain", "")] + e.get("additional-domains", [])
                regs = []
                for d in doms:
                    r = registrable(d, psl)
                    if r and r not in regs:
                        regs.append(r)
                regions = [r for r in e.get("regions", []) if not r.startswith("-")]
                sectors = sorted({TWOFA_SECTOR.get(c, "other") for c in cats},
                                 key=SECTOR_RANK.index) or ["other"]
                cat.add(name, [], regs, regions or ["global"], sectors[0], "twofa")

    # Popular domains by label: a brand's regional sites (amazon.de, tfbank.se).
    tranco = []
    with open(a.tranco, encoding="utf-8") as f:
        for line in f:
            d = line.strip().split(",")[-1].lower()
            r = registrable(d, psl) if d else None
            if r:
                tranco.append(r)
    by_label = defaultdict(list)
    for r in tranco:
        if r not in by_label[label_of(r)]:
            by_label[label_of(r)].append(r)

    def distinctive(label):
        return len(label) >= 4 and fold(label) == label and label not in common \
            and label not in WEB_WORDS and not label.isdigit()

    for b in cat.brands:
        labels = {label_of(d) for d in b["domains"] if registrable(d, psl) == d}
        for l in sorted(labels):
            if not distinctive(l):
                continue
            for r in by_label.get(l, [])[:40]:
                if r not in b["domains"]:
                    b["domains"].append(r)
                    cat.by_domain.setdefault(r, cat.brands.index(b))

    # Labels of popular domains that phishing hosts embed: targeted brands.
    phish_hosts = set()
    for p in a.phish:
        with open(p, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip().split("\t")[0].lower()
                if not line or line.startswith("url"):
                    continue
                host = re.sub(r"^[a-z]+://", "", line).split("/")[0].split(":")[0]
                rest = line[len(host):] if "://" not in line else line.split("://", 1)[1][len(host):]
                phish_hosts.add((host, rest[:200]))
    top_labels = {}
    for rank, r in enumerate(tranco[:30000]):
        l = label_of(r)
        if distinctive(l) and len(l) >= 6 and l not in vocabulary and l not in top_labels:
            top_labels[l] = rank
    # Whole words of host and path (paypal-secure.example/wixsite/my-swisscom):
    # a set lookup a word, not a scan for every label.
    hits = Counter()
    for host, rest in sorted(phish_hosts):
        reg = registrable(host, psl) or host
        # Host words only: paths carry the kit's own furniture (jquery, elementor).
        # Nor the public suffix: hosting platforms (x.ondigitalocean.app) are
        # where phishing lives, not whom it claims.
        suffix = reg.split(".", 1)[1] if "." in reg else ""
        words = set(re.split(r"[^a-z0-9]+", host[: len(host) - len(suffix)]))
        for l in words:
            if l in top_labels and label_of(reg) != l:
                hits[l] += 1
    known_labels = {label_of(d) for b in cat.brands for d in b["domains"]}
    known_alias = {fold(x) for b in cat.brands for x in b["aliases"]}
    added = 0
    for l, n in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0])):
        if n < MIN_TARGET_HOSTS or l in known_labels or l in known_alias or l in NOT_BRANDS:
            continue
        doms = by_label[l][:40]
        tld = doms[0].rsplit(".", 1)[-1]
        country = [tld] if len(tld) == 2 else ["global"]
        cat.add(l.capitalize(), [], doms, country, "other", "feeds")
        added += 1

    out = []
    for b in cat.brands:
        kws = []
        for al in b["aliases"]:
            k = al.strip().lower()
            if not k:
                continue
            f = fold(k)
            if not f:
                # Native-script names stay as written.
                f = k
            one_word = " " not in k.strip()
            labels = {label_of(d) for d in b["domains"]}
            if b["source"] == "seed":
                generic = f in common
            elif b["source"] == "curated":
                generic = f in common or (f in uncommon and f not in labels)
            else:
                # Short names from bulk sources (SL, MAX, REV) only as a
                # whole display name.
                generic = f in vocabulary or len(f) <= 3
            generic = generic and one_word and (len(f) > 3 or b["source"] not in ("seed", "curated"))
            k = ("~" if generic else "") + k
            if k not in kws:
                kws.append(k)
        sectors = sorted(set(b["sectors"]) or {"other"}, key=lambda s: SECTOR_RANK.index(s)
                         if s in SECTOR_RANK else 99)
        out.append("\t".join([
            b["name"], ";".join(kws), ";".join(b["domains"]),
            ";".join(b["countries"]) or "global", sectors[0], b["source"], b["flags"],
        ]))
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("# Generated by scripts/brands/build.py; edit the inputs, not this file.\n")
        f.write("name\tkeywords\tdomains\tcountry\tsector\tsource\tflags\n")
        f.write("\n".join(out) + "\n")
    src = Counter(b["source"] for b in cat.brands)
    print(f"{len(out)} brands ({dict(src)}), {added} from phishing feeds, "
          f"{sum(len(b['domains']) for b in cat.brands)} domains", file=sys.stderr)


if __name__ == "__main__":
    main()

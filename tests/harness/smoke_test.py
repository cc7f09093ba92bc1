#!/usr/bin/env python3
"""Smoke test of the loopback mail harness with real clients (stdlib only).

usage: smoke_test.py DIR        (DIR as given to mailservers-up.sh; must be running)

Uses smtplib/imaplib/ssl with certificate verification ON against the harness CA
(MAILTEST_CA_CERT). Checks: listeners only on 127.x; TLS names; submission with
STARTTLS (587-like) and implicit TLS (465-like) from every provider to other
providers; retrieval over IMAPS and IMAP+STARTTLS; refusals (wrong password, no
TLS, open relay, foreign sender, unknown user); fault injection (smtp-tempfail,
imap-restart). Prints one line per check and finally "smoke: N passed, M failed";
exits 1 if anything failed. Needs root only for the fault commands.
"""

from __future__ import annotations

import imaplib
import ipaddress
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import traceback
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

TIMEOUT = 15          # seconds for any single network operation
DELIVERY_WAIT = 20    # seconds to wait for a message to show up in IMAP


# ----------------------------------------------------------------------------- env

def load_env(path: str) -> dict[str, str]:
    """Parse harness.env: KEY=value lines, '#' comments, no quoting."""
    env: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            env[key] = value
    return env


class Account:
    def __init__(self, line: str):
        # address,password,host,submission_port,submissions_port,imap_port,imaps_port
        f = line.split(",")
        if len(f) != 7:
            raise ValueError(f"bad account line: {f[0]}...")
        self.address, self.password, self.host = f[0], f[1], f[2]
        self.submission, self.submissions, self.imap, self.imaps = map(int, f[3:])
        self.local, self.domain = self.address.split("@")

    def __repr__(self) -> str:
        return self.address


class Harness:
    def __init__(self, directory: str):
        self.dir = os.path.abspath(directory)
        self.env = load_env(os.path.join(self.dir, "harness.env"))
        e = self.env
        self.ca = e["MAILTEST_CA_CERT"]
        self.providers: dict[str, str] = dict(p.split("=") for p in e["MAILTEST_PROVIDERS"].split(","))
        self.ports = {name: int(e[f"MAILTEST_{name.upper()}_PORT"])
                      for name in ("smtp", "submission", "submissions", "imap", "imaps")}
        self.accounts: dict[str, Account] = {}
        for addr in e["MAILTEST_ACCOUNTS"].split(","):
            key = "MAILTEST_ACCOUNT_" + addr.split("@")[0].upper()
            self.accounts[addr] = Account(e[key])
        self.relays = [self.accounts[a] for a in e["MAILTEST_RELAYS"].split(",")]
        here = os.path.dirname(os.path.abspath(__file__))
        self.fault_cmd = os.path.join(here, "mailservers-fault.sh")

    def account(self, local: str) -> Account:
        for a in self.accounts.values():
            if a.local == local:
                return a
        raise KeyError(local)

    def tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        return ctx

    def fault(self, *args: str) -> float:
        t0 = time.monotonic()
        r = subprocess.run(["bash", self.fault_cmd, self.dir, *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"mailservers-fault.sh {' '.join(args)} failed: {r.stderr.strip()}")
        return time.monotonic() - t0

    # ------------------------------------------------------------------ SMTP

    def smtp(self, acc: Account, mode: str, login: bool = True, password: str | None = None,
             host: str | None = None) -> smtplib.SMTP:
        """Connected (and logged-in) SMTP client. mode: 'starttls' (submission port) or
        'tls' (submissions port, implicit TLS)."""
        host = host or acc.host
        if mode == "starttls":
            s = smtplib.SMTP(host, self.ports["submission"], timeout=TIMEOUT)
            s.ehlo("smoke.client.test")
            s.starttls(context=self.tls())
            s.ehlo("smoke.client.test")
        elif mode == "tls":
            s = smtplib.SMTP_SSL(host, self.ports["submissions"], timeout=TIMEOUT, context=self.tls())
            s.ehlo("smoke.client.test")
        else:
            raise ValueError(mode)
        if login:
            s.login(acc.address, acc.password if password is None else password)
        return s

    def send(self, acc: Account, rcpts: list[str], subject: str, mode: str) -> None:
        msg = EmailMessage()
        msg["From"] = acc.address
        msg["To"] = ", ".join(rcpts)
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=acc.domain)
        msg.set_content(f"MailVortex harness smoke test.\n{subject}\n")
        with self.smtp(acc, mode) as s:
            refused = s.send_message(msg, from_addr=acc.address, to_addrs=rcpts)
            if refused:
                raise AssertionError(f"recipients refused: {refused}")

    # ------------------------------------------------------------------ IMAP

    def imap(self, acc: Account, mode: str, password: str | None = None) -> imaplib.IMAP4:
        """Logged-in IMAP client. mode: 'imaps' (implicit TLS) or 'starttls' (IMAP port)."""
        if mode == "imaps":
            c = imaplib.IMAP4_SSL(acc.host, self.ports["imaps"], ssl_context=self.tls(), timeout=TIMEOUT)
        elif mode == "starttls":
            c = imaplib.IMAP4(acc.host, self.ports["imap"], timeout=TIMEOUT)
            c.starttls(ssl_context=self.tls())
        else:
            raise ValueError(mode)
        try:
            c.login(acc.address, acc.password if password is None else password)
        except Exception:
            try:
                c.logout()
            except Exception:
                pass
            raise
        return c

    def search(self, acc: Account, token: str, mode: str) -> list[bytes]:
        """Headers of the INBOX messages whose Subject contains token."""
        c = self.imap(acc, mode)
        try:
            typ, _ = c.select("INBOX", readonly=True)
            assert typ == "OK"
            typ, data = c.search(None, "SUBJECT", f'"{token}"')
            assert typ == "OK"
            headers = []
            for num in data[0].split():
                typ, parts = c.fetch(num, "(BODY.PEEK[HEADER])")
                assert typ == "OK"
                headers.append(parts[0][1])
            return headers
        finally:
            c.logout()

    def wait_for(self, acc: Account, token: str, mode: str, timeout: float = DELIVERY_WAIT) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.search(acc, token, mode)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"message {token} not in {acc.address}'s INBOX ({mode}) after {timeout:.0f} s")
            time.sleep(0.2)


# ----------------------------------------------------------------------------- runner

class Runner:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, fn, *args) -> bool:
        t0 = time.monotonic()
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            self.failed += 1
            detail = f"{type(e).__name__}: {e}"
            print(f"FAIL  {name}: {detail}", flush=True)
            if os.environ.get("SMOKE_DEBUG"):
                traceback.print_exc()
            return False
        self.passed += 1
        print(f"ok    {name} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
        return True


def token() -> str:
    return "smk" + uuid.uuid4().hex[:12]


def expect_smtp_code(exc: Exception, lo: int, hi: int) -> int:
    """Extract the SMTP reply code from an smtplib exception and check its range."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = next(iter(exc.recipients.values()))[0]
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
    else:
        raise AssertionError(f"unexpected exception {type(exc).__name__}: {exc}")
    if not lo <= code <= hi:
        raise AssertionError(f"expected SMTP {lo}-{hi}, got {code}: {exc}")
    return code


# ----------------------------------------------------------------------------- checks

def check_env(h: Harness) -> None:
    assert len(h.providers) >= 3, f"need >= 3 providers, have {h.providers}"
    for d, ip in h.providers.items():
        assert ipaddress.ip_address(ip).is_loopback, f"{d} is not on loopback: {ip}"
    assert os.path.isfile(h.ca), h.ca
    for local in ("alice", "bob"):
        h.account(local)
    assert len(h.relays) >= 7, f"need >= 7 relays, have {len(h.relays)}"
    spread = {r.domain for r in h.relays}
    assert len(spread) >= 3, f"relays must be spread over >= 3 providers: {spread}"
    for k in ("MAILTEST_LOGS", "MAILTEST_MAILDIRS"):
        assert os.path.isdir(h.env[k]), k
    mode = os.stat(os.path.join(h.dir, "accounts.env")).st_mode & 0o077
    assert mode == 0, "accounts.env must not be readable by group/others"


def read_listeners() -> list[tuple[str, int, int]]:
    """(ip, port, inode) of every listening TCP socket, from /proc/net/tcp{,6}."""
    out = []
    for path, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = open(path).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            if f[3] != "0A":  # LISTEN
                continue
            hexip, hexport = f[1].split(":")
            raw = bytes.fromhex(hexip)
            if v6:  # four little-endian 32-bit words
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                ip = str(ipaddress.IPv6Address(raw))
            else:
                ip = str(ipaddress.IPv4Address(raw[::-1]))
            out.append((ip, int(hexport, 16), int(f[9])))
    return out


def harness_pids(h: Harness) -> set[int]:
    """PIDs of the harness's masters (from their pid files) and all their descendants."""
    roots = set()
    for d in h.providers:
        for rel in ("spool/pid/master.pid", "run/master.pid"):
            try:
                roots.add(int(open(os.path.join(h.dir, "providers", d, rel)).read().strip()))
            except (OSError, ValueError):
                pass
    children: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(p))
    pids, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p not in pids:
            pids.add(p)
            todo.extend(children.get(p, []))
    return pids


def check_loopback_only(h: Harness) -> None:
    listeners = read_listeners()
    ours = set(h.ports.values())
    # 1. every provider address has every service port
    for d, ip in h.providers.items():
        for name, port in h.ports.items():
            assert (ip, port) in {(a, p) for a, p, _ in listeners}, f"{d}: nothing listens on {ip}:{port} ({name})"
    # 2. none of the service ports is bound to a non-loopback or wildcard address
    for ip, port, _ in listeners:
        if port in ours:
            assert ipaddress.ip_address(ip).is_loopback, f"port {port} is bound on {ip}"
    # 3. every listening socket held by the harness's processes is on 127.x
    inodes = {inode: (ip, port) for ip, port, inode in listeners}
    pids = harness_pids(h)
    assert pids, "no harness processes found"
    seen = 0
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in inodes:
                    ip, port = inodes[inode]
                    seen += 1
                    assert ipaddress.IPv4Address(ip) in ipaddress.ip_network("127.0.0.0/8"), \
                        f"pid {pid} listens on {ip}:{port}"
    assert seen >= 5 * len(h.providers), f"found only {seen} listening sockets of harness processes"


def check_tls_names(h: Harness) -> None:
    """Verification is really on: IP and DNS SANs accepted, a foreign name and an
    unknown CA are rejected."""
    system_ctx = ssl.create_default_context()  # system roots, without the test CA
    names = list(h.providers)
    for i, (d, ip) in enumerate(h.providers.items()):
        for port in (h.ports["imaps"], h.ports["submissions"]):
            for name in (ip, d, f"mail.{d}", f"imap.{d}", f"smtp.{d}", f"mx.{d}"):
                with socket.create_connection((ip, port), timeout=TIMEOUT) as raw:
                    with h.tls().wrap_socket(raw, server_hostname=name) as s:
                        assert s.version() in ("TLSv1.2", "TLSv1.3"), s.version()
            other = names[(i + 1) % len(names)]
            for ctx, name in ((h.tls(), f"mail.{other}"), (system_ctx, ip)):
                with socket.create_connection((ip, port), timeout=TIMEOUT) as raw:
                    try:
                        ctx.wrap_socket(raw, server_hostname=name).close()
                    except ssl.SSLCertVerificationError:
                        continue
                raise AssertionError(f"{ip}:{port} accepted with name {name} / wrong CA")


def plan_sends(h: Harness):
    """For every provider P: a sender on P and two recipients on two other providers
    (bob@b.test or alice@a.test, and a relay on a third provider)."""
    alice, bob = h.account("alice"), h.account("bob")
    plan = []
    for d in h.providers:
        if d == alice.domain:
            sender = alice
        elif d == bob.domain:
            sender = bob
        else:
            sender = next(r for r in h.relays if r.domain == d)
        first = bob if sender.domain != bob.domain else alice
        relay = next(r for r in h.relays if r.domain not in (sender.domain, first.domain))
        plan.append((sender, [first, relay]))
    return plan


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    r = Runner()
    try:
        h = Harness(sys.argv[1])
    except Exception as e:  # noqa: BLE001
        print(f"FAIL  load {sys.argv[1]}/harness.env: {e}")
        print("smoke: 0 passed, 1 failed")
        return 1
    alice, bob = h.account("alice"), h.account("bob")
    prov_a, prov_b = alice.domain, bob.domain

    r.check("harness.env describes >=3 providers, alice, bob, 7 spread relays", check_env, h)
    r.check("all service ports listen on every provider IP, only on 127.x", check_loopback_only, h)
    r.check("TLS: certificates verify by IP and domain names; wrong name/CA rejected", check_tls_names, h)

    # -------------------------------------------------- sending and receiving
    sent = []  # (token, recipients, description)
    for sender, rcpts in plan_sends(h):
        for mode, port_name in (("starttls", "submission"), ("tls", "submissions")):
            t = token()
            desc = f"{sender} -> {', '.join(map(str, rcpts))} via {sender.domain}:{h.ports[port_name]} ({mode})"
            if r.check(f"send {desc}", h.send, sender, [a.address for a in rcpts], f"smoke {t}", mode):
                sent.append((t, sender, rcpts))
    for t, sender, rcpts in sent:
        for rcpt in rcpts:
            for mode in ("imaps", "starttls"):
                port = h.ports["imaps" if mode == "imaps" else "imap"]
                r.check(f"fetch {t} ({sender} -> {rcpt}) over {'IMAPS' if mode == 'imaps' else 'IMAP+STARTTLS'} "
                        f"{rcpt.host}:{port}", h.wait_for, rcpt, t, mode)

    def inter_provider_tls() -> None:
        t, _, _ = next(s for s in sent if s[1] is alice and s[2][0] is bob)
        hdr = h.wait_for(bob, t, "imaps")[0].decode("utf-8", "replace")
        assert f"by mail.{prov_b}" in hdr and f"from mail.{prov_a}" in hdr, hdr
        assert "with ESMTPS" in hdr, f"{prov_a} -> {prov_b} hop was not TLS-encrypted:\n{hdr}"
    r.check(f"{prov_a} -> {prov_b} hop used verified TLS (Received: ... with ESMTPS)", inter_provider_tls)

    # -------------------------------------------------- refusals
    def wrong_password_smtp(mode: str) -> None:
        try:
            h.smtp(alice, mode, password=alice.password + "x").quit()
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535, e
            return
        raise AssertionError("wrong password accepted")

    def wrong_password_imap(mode: str, acc: Account, password: str) -> None:
        try:
            h.imap(acc, mode, password=password).logout()
        except imaplib.IMAP4.error as e:
            assert "AUTHENTICATIONFAILED" in str(e) or "failed" in str(e).lower(), e
            return
        raise AssertionError("wrong password accepted")

    def alice_at_other_provider() -> None:
        foreign = Account(",".join([alice.address, alice.password, bob.host,
                                    str(alice.submission), str(alice.submissions), str(alice.imap), str(alice.imaps)]))
        wrong_password_imap("imaps", foreign, alice.password)
        try:
            h.smtp(foreign, "starttls").quit()
        except smtplib.SMTPAuthenticationError:
            return
        raise AssertionError(f"{alice} could log in at {prov_b}")

    def no_tls_no_auth() -> None:
        with smtplib.SMTP(alice.host, h.ports["submission"], timeout=TIMEOUT) as s:
            s.ehlo("smoke.client.test")
            assert s.has_extn("starttls"), "STARTTLS not offered"
            assert not s.has_extn("auth"), "AUTH offered before TLS"
            code, msg = s.mail(alice.address)
            assert code == 530, (code, msg)

    def no_auth_no_relay_on_submission() -> None:
        with h.smtp(alice, "starttls", login=False) as s:
            s.mail(alice.address)
            code, msg = s.rcpt(bob.address)
            assert 500 <= code < 600, f"unauthenticated RCPT accepted on submission: {code} {msg}"

    def open_relay_refused() -> None:
        with smtplib.SMTP(alice.host, h.ports["smtp"], timeout=TIMEOUT) as s:
            s.starttls(context=h.tls())
            s.mail("someone@elsewhere.test")
            code, msg = s.rcpt(bob.address)
            assert code == 554 and b"Relay access denied" in msg, (code, msg)

    def foreign_sender_refused() -> None:
        with h.smtp(alice, "starttls") as s:
            s.mail(bob.address)
            code, msg = s.rcpt(bob.address)
            assert 500 <= code < 600, f"{alice} could send as {bob}: {code} {msg}"

    def unknown_user_refused() -> None:
        with h.smtp(alice, "starttls") as s:
            s.mail(alice.address)
            code, msg = s.rcpt(f"nosuchuser@{prov_a}")
            assert code == 550, (code, msg)

    def imap_plaintext_refused() -> None:
        c = imaplib.IMAP4(bob.host, h.ports["imap"], timeout=TIMEOUT)
        try:
            assert "LOGINDISABLED" in c.capabilities and "STARTTLS" in c.capabilities, c.capabilities
            try:
                c.login(bob.address, bob.password)
            except imaplib.IMAP4.error:
                return
            raise AssertionError("LOGIN accepted without TLS")
        finally:
            c.shutdown()
    r.check("IMAP without STARTTLS: LOGINDISABLED, LOGIN refused", imap_plaintext_refused)
    r.check("SMTP submission (STARTTLS): wrong password -> 535", wrong_password_smtp, "starttls")
    r.check("SMTP submissions (implicit TLS): wrong password -> 535", wrong_password_smtp, "tls")
    r.check("IMAPS: wrong password refused", wrong_password_imap, "imaps", bob, bob.password + "x")
    r.check("IMAP+STARTTLS: wrong password refused", wrong_password_imap, "starttls", bob, bob.password + "x")
    r.check(f"{alice}'s password is refused by {prov_b} (SMTP and IMAP)", alice_at_other_provider)
    def no_penalty_after_failures() -> None:
        # Dovecot's per-IP auth penalty is disabled by the harness (MAILTEST_AUTH_PENALTY=no):
        # after the failures above, a correct login must not be slowed down.
        for mode in ("imaps", "starttls"):
            t0 = time.monotonic()
            h.imap(bob, mode).logout()
            assert time.monotonic() - t0 < 1.5, f"IMAP login took {time.monotonic() - t0:.1f} s after failures"
        t0 = time.monotonic()
        h.smtp(bob, "starttls").quit()
        assert time.monotonic() - t0 < 1.5, f"SMTP AUTH took {time.monotonic() - t0:.1f} s after failures"
    r.check("correct logins right after failed ones are not delayed", no_penalty_after_failures)
    r.check("submission: no AUTH before STARTTLS, MAIL without TLS -> 530", no_tls_no_auth)
    r.check("submission: unauthenticated RCPT refused", no_auth_no_relay_on_submission)
    r.check(f"MX port {h.ports['smtp']}: relaying for foreign domains refused (554)", open_relay_refused)
    r.check("submission: envelope sender must belong to the login (5xx)", foreign_sender_refused)
    r.check("unknown recipient refused at RCPT (550)", unknown_user_refused)

    # -------------------------------------------------- fault: smtp-tempfail
    def tempfail_submission() -> None:
        h.fault("smtp-tempfail", "on", prov_a)
        try:
            for mode in ("starttls", "tls"):
                try:
                    h.send(alice, [bob.address], f"smoke {token()} (must be refused)", mode)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as e:
                    expect_smtp_code(e, 400, 499)
                else:
                    raise AssertionError(f"send via {mode} was accepted during smtp-tempfail")
        finally:
            h.fault("smtp-tempfail", "off", prov_a)
        t = token()
        h.send(alice, [bob.address], f"smoke {t}", "starttls")
        h.wait_for(bob, t, "imaps")
    r.check(f"smtp-tempfail on {prov_a}: submissions get 4xx; after off, send succeeds", tempfail_submission)

    def tempfail_delivery() -> None:
        t = token()
        h.fault("smtp-tempfail", "on", prov_b)
        try:
            h.send(alice, [bob.address], f"smoke {t}", "tls")  # prov_a accepts and queues
            time.sleep(3)
            assert not h.search(bob, t, "imaps"), "delivered although the receiving provider tempfails"
            q = subprocess.run(["bash", h.fault_cmd, h.dir, "queue", prov_a], capture_output=True,
                               text=True, timeout=30, stdin=subprocess.DEVNULL).stdout
            entries = [json.loads(line) for line in q.splitlines() if line.strip()]
            reasons = [rc.get("delay_reason", "") for e in entries for rc in e.get("recipients", [])]
            assert any(" 451 " in x or "451 4.3.0" in x for x in reasons), f"no 451 in {prov_a}'s queue: {reasons}"
        finally:
            h.fault("smtp-tempfail", "off", prov_b)
        h.wait_for(bob, t, "imaps", timeout=20)
    r.check(f"smtp-tempfail on {prov_b}: {prov_a} defers with 451, delivers after off", tempfail_delivery)

    # -------------------------------------------------- fault: imap-restart
    def imap_restart() -> None:
        c = h.imap(bob, "imaps")
        c.select("INBOX")
        assert c.noop()[0] == "OK"
        took = h.fault("imap-restart", prov_b)
        try:
            c.noop()
            c.select("INBOX")
        except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
            pass  # the old connection is gone, as it should be
        else:
            raise AssertionError("old IMAP connection survived the restart")
        finally:
            try:
                c.shutdown()
            except Exception:  # noqa: BLE001
                pass
        # reconnect (the client's job): must work promptly, mail must still be there
        deadline = time.monotonic() + 10
        while True:
            try:
                old = next((s[0] for s in sent if bob in s[2]), None)
                found = h.search(bob, old, "imaps") if old else [b""]
                break
            except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert found, "mail lost across the restart"
        t = token()
        h.send(alice, [bob.address], f"smoke {t}", "starttls")
        h.wait_for(bob, t, "starttls")
        print(f"      (imap-restart took {took * 1000:.0f} ms)")
    r.check(f"imap-restart {prov_b}: old connection cut, client reconnects, delivery continues", imap_restart)

    # -------------------------------------------------- aftermath
    def queues_drain() -> None:
        deadline = time.monotonic() + 20
        while True:
            q = subprocess.run(["bash", h.fault_cmd, h.dir, "queue"], capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)
            assert q.returncode == 0, q.stderr
            if not q.stdout.strip():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"mail left in the queues:\n{q.stdout[:2000]}")
            h.fault("flush")
            time.sleep(0.5)
    r.check("all Postfix queues are empty (nothing deferred or stuck)", queues_drain)

    def logs_clean() -> None:
        bad = []
        logs = h.env["MAILTEST_LOGS"]
        for name in sorted(os.listdir(logs)):
            if not name.endswith(("-postfix.log", "-dovecot.log")):
                continue
            with open(os.path.join(logs, name), errors="replace") as f:
                for line in f:
                    low = line.lower()
                    if "fatal:" in low or "panic:" in low or "status=bounced" in low or "status=expired" in low:
                        bad.append(f"{name}: {line.strip()}")
        assert not bad, "\n".join(bad[:20])
    r.check("server logs: no fatal/panic, nothing bounced", logs_clean)

    print(f"smoke: {r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Users saved in config files (ADD USER ... SECRET=) against a real gateway.

CREATE CONFIG writes every user as a salted hash, and the factory manager only once
changed; a gateway that boots from that file (both processes anew, fresh dataplane) lets
the same users log in with the same passwords. No cleartext password ever reaches the
config file, the running-config snapshot, SHOW CONFIG, SHOW LOG or the processes' logs.
"""

import os
import stat

NEW_MANAGER_PW = "Mgr-Pass-2"
SECOFF_PW = "PasswordS7"
CLIENT_PW = "passclie1"


def test_users_survive_save_and_reboot_without_cleartext(lab):
    r = lab.cli(f"ADD USER=secoff PASSWORD={SECOFF_PW} PRIVILEGE=SECURITYOFFICER",
                f"ADD USER=client1 PASS={CLIENT_PW} LOGIN=NO",
                f"SET USER=manager PASSWORD={NEW_MANAGER_PW}")
    assert len(r.infos()) == 3 and not r.errors(), r
    r = lab.cli("CREATE CONFIG=users.cfg", "SET CONFIG=users.cfg", password=NEW_MANAGER_PW)
    assert not r.errors(), r

    saved_path = lab.dir / "users.cfg"
    saved = saved_path.read_text()
    assert 'ADD USER=secoff SECRET="pbkdf2-sha256$' in saved, saved
    assert "PRIVILEGE=SECURITYOFFICER LOGIN=YES" in saved, saved
    assert "ADD USER=client1 SECRET=" in saved and "LOGIN=NO" in saved, saved
    assert 'SET USER=manager SECRET="pbkdf2-sha256$' in saved, saved
    assert stat.S_IMODE(os.stat(saved_path).st_mode) == 0o600
    assert not (lab.dir / "users.db").exists()

    shown = lab.cli("SHOW CONFIG DYNAMIC", "SHOW CONFIG DYNAMIC=USER", "SHOW USER",
                    "SHOW LOG", password=NEW_MANAGER_PW).stdout
    snapshots = [p.read_text() for p in lab.socket.parent.glob("*.running.cfg")]
    assert snapshots, "no running-config snapshot"

    lab.boot_config.unlink()
    lab.password = NEW_MANAGER_PW     # what start_control() and cli() log in with now
    lab.restart_gateway()
    r = lab.cli("SHOW USER", user="secoff", password=SECOFF_PW)
    assert r.ok and "Username: client1" in r.stdout, r
    assert lab.cli("SHOW IP ROUTE", password=NEW_MANAGER_PW).ok
    assert not lab.cli("SHOW IP ROUTE", password="friend", check=False).ok   # factory one gone
    assert not lab.cli("SHOW IP ROUTE", user="client1", password=CLIENT_PW, check=False).ok
    log = lab.cli("SHOW LOG", password=NEW_MANAGER_PW).stdout
    assert "0 failed" in log, log

    texts = [saved, shown, log, lab.all_logs_text(), *snapshots,
             *[p.read_text() for p in lab.socket.parent.glob("*.running.cfg")]]
    for text in texts:
        for secret in (NEW_MANAGER_PW, SECOFF_PW, CLIENT_PW, "friend"):
            assert secret not in text, f"{secret!r} leaked into:\n{text}"

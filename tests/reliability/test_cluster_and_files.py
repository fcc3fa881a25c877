"""A cluster reached over TLS gives the tables of this machine; files follow the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_same_tables

from sim.cli import main
from sim.experiment.files import write_text_atomic
from sim.experiment.results import read_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("cryptography")
    from distributed.security import Security

    security = Security.temporary()
    files = tmp_path_factory.mktemp("tls")
    for name, pem in (("ca.pem", security.tls_ca_file), ("cert.pem", security.tls_client_cert),
                      ("key.pem", security.tls_client_key)):
        (files / name).write_text(pem)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  protocol="tls", host="127.0.0.1", security=security,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address, files


def test_a_tls_cluster_runs_with_its_certificates_and_gives_the_same_tables(tls_cluster,
                                                                             tmp_path):
    address, files = tls_cluster
    assert address.startswith("tls://")
    args = ["run", "baseline", "--reps", "3", "--days", "6", "--seed", "2"]
    tls = ["--scheduler", address, "--tls-ca-file", str(files / "ca.pem"), "--tls-cert",
           str(files / "cert.pem"), "--tls-key", str(files / "key.pem")]
    assert main([*args, *tls, "--out", str(tmp_path / "tls")]) == 0
    meta = json.loads((tmp_path / "tls" / "metadata.json").read_text())
    assert meta["backend"] == "dask"
    assert main([*args, "--out", str(tmp_path / "here")]) == 0
    assert_same_tables(read_run(tmp_path / "tls"), read_run(tmp_path / "here"))


def test_a_tls_cluster_without_certificates_ends_in_a_sentence(tls_cluster, tmp_path, capsys):
    address, _files = tls_cluster
    code = main(["run", "baseline", "--reps", "2", "--days", "3", "--scheduler", address,
                 "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code in (1, 2) and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and address in err


def test_what_the_tool_writes_follows_the_umask(tmp_path):
    code = ("import os, sys\nos.umask(0o027)\nfrom sim.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-c", code, "run", "baseline", "--reps", "2", "--days", "3",
                    "--out", str(out)], check=True, cwd=ROOT, capture_output=True)
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in [out, *out.rglob("*")]}
    for name, mode in modes.items():
        expected = 0o750 if (out / name).is_dir() else 0o640
        assert mode == expected, (name, oct(mode))


def test_a_rewritten_file_keeps_its_mode(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text("old")
    os.chmod(path, 0o604)
    write_text_atomic(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o604
    assert not list(tmp_path.glob(".*.tmp"))

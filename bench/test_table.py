#!/usr/bin/env python3
"""Tests of bench/table.py on fake results: python3 bench/test_table.py (or -m unittest)."""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, HERE)
import table  # noqa: E402

NOW = datetime.datetime(2025, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
MACHINE = {"cpu": "Test CPU 9000", "cores": 2, "gpus": [], "os": "Debian GNU/Linux 12 (bookworm)"}
GPU_MACHINE = dict(MACHINE, gpus=["NVIDIA H100 80GB HBM3 (driver 550.1, 81559 MiB)"])


def rec(backend, what, batch, ips, device_type="cpu", **kw):
    n = 3200 if what != "epoch" else 50000
    return dict(backend=backend, device_type=device_type, what=what, batch=batch,
                images_per_second=ips, images=n, seconds=n / ips, **kw)


VK_CPU = [rec("cpu", "train", 32, 250.0, "cpu-reference"), rec("cpu", "train", 128, 300.0, "cpu-reference"),
          rec("cpu", "eval", 1000, 1200.0, "cpu-reference")]
PT_CPU = [rec("pytorch-cpu", "train", 32, 400.0), rec("pytorch-cpu", "train", 128, 500.0),
          rec("pytorch-cpu", "epoch", 32, 400.0, extrapolated=True), rec("pytorch-cpu", "eval", 1000, 1000.0)]
PT_META = {"torch_version": "1.13.1", "device": "cpu", "threads": 2, "blas_loaded": "OpenBLAS (pthread)",
           "blas_libraries_resolved": ["/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"],
           "compile": "unavailable: torch 1.13.1 has no torch.compile"}
VK_GPU = [rec("vulkan", "train", 32, 30000.0, "discrete-gpu"), rec("vulkan", "train", 128, 60000.0, "discrete-gpu"),
          rec("vulkan", "eval", 1000, 200000.0, "discrete-gpu")]
PT_GPU = [rec("pytorch-cuda", "train", 32, 5000.0, "cuda"), rec("pytorch-cuda", "train", 128, 18000.0, "cuda"),
          rec("pytorch-cuda", "epoch", 32, 50000 / 12.0, "cuda", extrapolated=False),
          rec("pytorch-cuda-compile", "train", 32, 7000.0, "cuda")]


def row(section, first, batch):
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[:2] == [first, str(batch)]:
            return cells
    raise AssertionError("no row %s %s in\n%s" % (first, batch, section))


class Section(unittest.TestCase):
    def cpu(self, vk=VK_CPU, pt=PT_CPU, **kw):
        return table.build_section("cpu", vk, pt, [PT_META], ["vkcnn bench train --device cpu --json"],
                                   ["a note"], now=NOW, machine=MACHINE, **kw)

    def test_cpu_rows_and_ratio(self):
        s = self.cpu()
        self.assertTrue(s.startswith("<!-- compare:cpu -->\n## CPU"))
        self.assertTrue(s.endswith("<!-- /compare:cpu -->\n"))
        self.assertEqual(row(s, "train", 32), ["train", "32", "250", "400", "0.62×"])
        self.assertEqual(row(s, "train", 128), ["train", "128", "300", "500", "0.60×"])
        self.assertEqual(row(s, "eval", 1000), ["eval", "1000", "1200", "1000", "1.20×"])
        # epoch: vkcnn extrapolated from 250/s = 200 s, PyTorch's extrapolated record 125 s
        self.assertEqual(row(s, "epoch (50k images), seconds", 32)[2:], ["200.0*", "125.0*", "0.62×"])
        self.assertIn("extrapolated", s)
        self.assertIn("Test CPU 9000", s)
        self.assertIn("2025-01-02 03:04 UTC", s)
        self.assertIn("OpenBLAS (pthread)", s)
        self.assertIn("vkcnn bench train --device cpu --json", s)
        self.assertIn("- a note", s)

    def test_cpu_target(self):
        self.assertIn("≥ 0.5× PyTorch CPU: **met** (0.62×", self.cpu())
        slow = [dict(r, images_per_second=150.0) if r["batch"] == 32 else r for r in VK_CPU]
        self.assertIn("**not met** (0.38×", self.cpu(vk=slow))

    def test_missing_rows_and_pending(self):
        s = self.cpu(vk=VK_CPU[:1])
        self.assertEqual(row(s, "train", 128)[2:], ["–", "500", "–"])
        p = self.cpu(vk=[], pending=True)
        self.assertEqual(row(p, "train", 32)[2:], ["pending", "400", "–"])
        self.assertIn("not measured (vkcnn figures pending)", p)

    def test_no_pytorch_records(self):
        with self.assertRaises(table.Error):
            self.cpu(pt=PT_GPU)

    def test_gpu_target_and_compile_column(self):
        s = table.build_section("gpu", VK_GPU, PT_GPU, [], [], [], now=NOW, machine=GPU_MACHINE)
        self.assertIn("<!-- compare:gpu -->", s)
        self.assertIn("NVIDIA H100", s.splitlines()[1])
        self.assertEqual(row(s, "train", 32), ["train", "32", "30000", "5000", "6.00×", "7000", "4.29×"])
        # epoch: PyTorch measured 12 s; vkcnn extrapolated 50000/30000 = 1.67 s -> 7.2x
        self.assertEqual(row(s, "epoch (50k images), seconds", 32)[2:5], ["1.7*", "12.0", "7.20×"])
        self.assertIn("PyTorch eager on the same GPU: **met** (7.20×", s)
        slow = [dict(r, images_per_second=3000.0) if r["batch"] == 32 else r for r in VK_GPU]
        s = table.build_section("gpu", slow, PT_GPU, [], [], [], now=NOW, machine=GPU_MACHINE)
        self.assertIn("**not met** (0.72×", s)

    def test_vkcnn_selection(self):
        both = VK_CPU + VK_GPU
        self.assertEqual(table.select_vkcnn(both, "cpu"), VK_CPU)
        self.assertEqual(table.select_vkcnn(both, "gpu"), VK_GPU)
        with self.assertRaises(table.Error):
            table.select_vkcnn(VK_CPU, "gpu")


class File(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def dump(self, name, data):
        with open(self.path(name), "w") as f:
            json.dump(data, f)
        return self.path(name)

    def run_cli(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "table.py")] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def test_replace_keeps_the_rest(self):
        out = self.path("B.md")
        with open(out, "w") as f:
            f.write("# Benchmarks\n\nintro\n")
        vk = self.dump("vk.json", VK_CPU)
        pt = self.dump("pt.json", {"meta": PT_META, "results": PT_CPU})
        for _ in range(3):
            r = self.run_cli("write", "--kind", "cpu", "--vkcnn", vk, "--pytorch", pt, "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
        text = self.read("B.md")
        self.assertTrue(text.startswith("# Benchmarks\n\nintro\n"))
        self.assertEqual(text.count("<!-- compare:cpu -->"), 1)
        self.assertEqual(text.count("<!-- /compare:cpu -->"), 1)
        # a GPU section goes next to it, and a changed CPU figure replaces the old one
        gv = self.dump("gv.json", VK_GPU)
        gp = self.dump("gp.json", PT_GPU)
        r = self.run_cli("write", "--kind", "gpu", "--vkcnn", gv, "--pytorch", gp, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        vk2 = self.dump("vk2.json", [dict(VK_CPU[0], images_per_second=111.0)])
        r = self.run_cli("write", "--kind", "cpu", "--vkcnn", vk2, "--pytorch", pt, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.read("B.md")
        self.assertEqual(text.count("<!-- compare:cpu -->"), 1)
        self.assertEqual(text.count("<!-- compare:gpu -->"), 1)
        self.assertIn("| train | 32 | 111 | 400 | 0.28× |", text)
        self.assertNotIn("| train | 32 | 250 |", text)
        self.assertLess(text.index("compare:cpu"), text.index("compare:gpu"))
        self.assertEqual([f for f in os.listdir(self.dir.name) if f.startswith(".")], [])  # no temp left

    def test_new_file_gets_header_and_merge(self):
        gv = self.dump("gv.json", VK_GPU)
        gp = self.dump("gp.json", PT_GPU)
        r = self.run_cli("write", "--kind", "gpu", "--vkcnn", gv, "--pytorch", gp, "--out", self.path("gpu.md"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.read("gpu.md").startswith("# Benchmarks"))
        with open(self.path("main.md"), "w") as f:
            f.write("# Benchmarks\n\n<!-- compare:gpu -->\nold\n<!-- /compare:gpu -->\n\nafter\n")
        r = self.run_cli("merge", self.path("gpu.md"), "--out", self.path("main.md"))
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.read("main.md")
        self.assertNotIn("\nold\n", text)
        self.assertEqual(text.count("<!-- compare:gpu -->"), 1)
        self.assertTrue(text.rstrip().endswith("after"))

    def test_bad_input_fails_clearly(self):
        bad = self.path("bad.json")
        with open(bad, "w") as f:
            f.write("vkcnn: unknown command \"bench\"\n")
        pt = self.dump("pt.json", PT_CPU)
        r = self.run_cli("write", "--kind", "cpu", "--vkcnn", bad, "--pytorch", pt, "--out", self.path("B.md"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("not JSON", r.stderr)
        self.assertFalse(os.path.exists(self.path("B.md")))
        nokey = self.dump("nokey.json", [{"backend": "cpu", "what": "train"}])
        r = self.run_cli("write", "--kind", "cpu", "--vkcnn", nokey, "--pytorch", pt, "--out", self.path("B.md"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("lacks batch, images_per_second", r.stderr)


if __name__ == "__main__":
    unittest.main()

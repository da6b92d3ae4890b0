#!/usr/bin/env python3
"""Self-test of bench/zoo.py and tools/torch_zoo.py (needs torch: Debian's python3-torch).

  /usr/bin/python3 tools/test_torch_zoo.py [-v]

Checks every network's state_dict names, shapes and dtypes against the lists
vkcnn's zoo uses, the BatchNorm settings, the forward shapes, the safetensors
reader and writer (F32 and I64, order kept, bad files refused in one line), and
the CLI (init, eval, train, step) on a tiny generated CIFAR-10 binary archive.
Takes about half a minute on two cores.
"""
import ast
import contextlib
import io
import json
import os
import random
import struct
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import torch_zoo  # noqa: E402
import zoo  # noqa: E402

torch.set_num_threads(2)


def bn(prefix, n):
    return [(prefix + ".weight", [n]), (prefix + ".bias", [n]), (prefix + ".running_mean", [n]),
            (prefix + ".running_var", [n]), (prefix + ".num_batches_tracked", [])]


SEED = [("conv1.weight", [32, 3, 3, 3]), ("conv1.bias", [32]), ("conv2.weight", [32, 32, 3, 3]),
        ("conv2.bias", [32]), ("fc3.weight", [512, 8192]), ("fc3.bias", [512]),
        ("fc4.weight", [10, 512]), ("fc4.bias", [10])]

AIRBENCH_TINY = (
    [("whiten.weight", [24, 3, 2, 2]), ("whiten.bias", [24]),
     ("block1.conv1.weight", [16, 24, 3, 3])] + bn("block1.norm1", 16) +
    [("block1.conv2.weight", [16, 16, 3, 3])] + bn("block1.norm2", 16) +
    [("block2.conv1.weight", [32, 16, 3, 3])] + bn("block2.norm1", 32) +
    [("block2.conv2.weight", [32, 32, 3, 3])] + bn("block2.norm2", 32) +
    [("block3.conv1.weight", [32, 32, 3, 3])] + bn("block3.norm1", 32) +
    [("block3.conv2.weight", [32, 32, 3, 3])] + bn("block3.norm2", 32) +
    [("head.weight", [10, 32])])

AIRBENCH94_SOME = {
    "whiten.weight": [24, 3, 2, 2], "whiten.bias": [24],
    "block1.conv1.weight": [64, 24, 3, 3], "block1.norm1.running_var": [64],
    "block1.conv2.weight": [64, 64, 3, 3], "block2.conv1.weight": [256, 64, 3, 3],
    "block2.norm2.bias": [256], "block3.conv2.weight": [256, 256, 3, 3],
    "block3.norm2.num_batches_tracked": [], "head.weight": [10, 256],
}

RESNET18_SOME = {
    "conv1.weight": [64, 3, 3, 3], "bn1.weight": [64], "bn1.num_batches_tracked": [],
    "layer1.0.conv1.weight": [64, 64, 3, 3], "layer1.0.bn1.running_mean": [64],
    "layer1.1.conv2.weight": [64, 64, 3, 3],
    "layer2.0.conv1.weight": [128, 64, 3, 3], "layer2.0.conv2.weight": [128, 128, 3, 3],
    "layer2.0.shortcut.0.weight": [128, 64, 1, 1], "layer2.0.shortcut.1.weight": [128],
    "layer2.0.shortcut.1.running_var": [128], "layer2.0.shortcut.1.num_batches_tracked": [],
    "layer3.0.shortcut.0.weight": [256, 128, 1, 1], "layer3.1.bn2.bias": [256],
    "layer4.0.conv1.weight": [512, 256, 3, 3], "layer4.0.shortcut.0.weight": [512, 256, 1, 1],
    "layer4.1.conv2.weight": [512, 512, 3, 3], "layer4.1.bn2.num_batches_tracked": [],
    "linear.weight": [10, 512], "linear.bias": [10],
}
RESNET18_HEAD = (["conv1.weight"] + [n for n, _ in bn("bn1", 64)] + ["layer1.0.conv1.weight"] +
                 [n for n, _ in bn("layer1.0.bn1", 64)] + ["layer1.0.conv2.weight"])


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


def shapes(model):
    return [(k, list(v.shape)) for k, v in model.state_dict().items()]


def write_archive(folder, n_test=12, n_train=40, seed=1, bad_label=False):
    """A tiny CIFAR-10 binary archive: folder/cifar.tar.gz and the extracted folder/bin."""
    rnd = random.Random(seed)
    ext = os.path.join(folder, "bin", "cifar-10-batches-bin")
    os.makedirs(ext)
    for name, n in (("test_batch.bin", n_test), ("data_batch_1.bin", n_train)):
        recs = bytearray()
        for i in range(n):
            recs.append(11 if bad_label and i == 3 else rnd.randrange(10))
            recs += bytes(rnd.randrange(256) for _ in range(3072))
        with open(os.path.join(ext, name), "wb") as f:
            f.write(recs)
    path = os.path.join(folder, "cifar.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(ext, arcname="cifar-10-batches-bin")
    return path


def run(*argv):
    """torch_zoo.main(argv) in this process: (stdout's JSON, or None)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        torch_zoo.main([str(a) for a in argv])
    return json.loads(out.getvalue())


class Names(unittest.TestCase):
    def test_seed(self):
        self.assertEqual(shapes(zoo.make("seed")), SEED)

    def test_airbench_tiny(self):
        self.assertEqual(shapes(zoo.make("airbench-tiny")), AIRBENCH_TINY)

    def test_airbench94(self):
        got = shapes(zoo.make("airbench94"))
        self.assertEqual([k for k, _ in got], [k for k, _ in AIRBENCH_TINY])
        d = dict(got)
        for k, v in AIRBENCH94_SOME.items():
            self.assertEqual(d[k], v, k)

    def test_resnet18(self):
        got = shapes(zoo.make("resnet18"))
        self.assertEqual(len(got), 122)
        self.assertEqual([k for k, _ in got[:len(RESNET18_HEAD)]], RESNET18_HEAD)
        self.assertEqual([k for k, _ in got[-2:]], ["linear.weight", "linear.bias"])
        d = dict(got)
        for k, v in RESNET18_SOME.items():
            self.assertEqual(d[k], v, k)
        shortcuts = sorted(set(k.split(".shortcut")[0] for k in d if ".shortcut." in k))
        self.assertEqual(shortcuts, ["layer2.0", "layer3.0", "layer4.0"])

    def test_dtypes_and_classes(self):
        for arch in zoo.ARCHES:
            for k, v in zoo.make(arch, classes=7).state_dict().items():
                self.assertEqual(v.dtype, torch.int64 if k.endswith("num_batches_tracked") else torch.float32, k)
            self.assertEqual(zoo.make(arch, classes=7)(torch.rand(2, 3, 32, 32)).shape, (2, 7))

    def test_batchnorm_settings(self):
        for m in zoo.make("airbench94").modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                self.assertEqual((m.eps, m.momentum), (1e-12, 0.4))
                self.assertFalse(m.weight.requires_grad)
                self.assertTrue(m.bias.requires_grad)
                self.assertTrue(bool((m.weight == 1).all()))
        for m in zoo.make("resnet18").modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                self.assertEqual((m.eps, m.momentum), (1e-5, 0.1))
                self.assertTrue(m.weight.requires_grad)

    def test_airbench_sides_and_scale(self):
        m = zoo.make("airbench-tiny").eval()
        sides, head = {}, []
        for name in ("whiten", "block1", "block2", "block3", "pool"):
            getattr(m, name).register_forward_hook(lambda mod, i, o, name=name: sides.__setitem__(name, o.shape[-1]))
        m.head.register_forward_hook(lambda mod, i, o: head.append(o))
        with torch.no_grad():
            y = m(torch.rand(3, 3, 32, 32))
        self.assertEqual(sides, {"whiten": 31, "block1": 15, "block2": 7, "block3": 3, "pool": 1})
        torch.testing.assert_close(y, head[0] * (1 / 9))

    def test_normalization(self):
        self.assertIsNone(zoo.NORMALIZATION["seed"])
        self.assertEqual(zoo.NORMALIZATION["airbench94"], ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)))
        self.assertEqual(zoo.NORMALIZATION["airbench-tiny"], zoo.NORMALIZATION["airbench94"])
        self.assertEqual(zoo.NORMALIZATION["resnet18"], ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)))
        x = torch.ones(1, 3, 2, 2)
        torch.testing.assert_close(zoo.normalize(x, "resnet18")[0, 1, 0, 0], torch.tensor((1 - 0.4822) / 0.1994))

    def test_init_is_seeded(self):
        torch.manual_seed(3)
        a = zoo.make("airbench-tiny").state_dict()
        torch.manual_seed(3)
        b = zoo.make("airbench-tiny").state_dict()
        for k in a:
            self.assertTrue(torch.equal(a[k], b[k]), k)

    def test_benchmark_lists_the_same_arches(self):
        with open(os.path.join(ROOT, "bench", "pytorch_seed.py")) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ZOO_ARCHES":
                self.assertEqual(ast.literal_eval(node.value), zoo.ARCHES)
                return
        self.fail("bench/pytorch_seed.py has no ZOO_ARCHES")


class Safetensors(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def test_round_trip_f32_i64_in_order(self):
        t = {"z.weight": torch.randn(3, 4), "a.num_batches_tracked": torch.tensor(123456789012, dtype=torch.int64),
             "m.bias": torch.randn(5), "empty": torch.zeros(0, 2), "ids": torch.tensor([-1, 2, 3], dtype=torch.int64)}
        torch_zoo.save_safetensors(self.path, t)
        got = torch_zoo.load_safetensors(self.path)
        self.assertEqual(list(got), list(t))
        for k in t:
            self.assertEqual(got[k].dtype, t[k].dtype, k)
            self.assertTrue(torch.equal(got[k], t[k]), k)
        data = slurp(self.path)
        (n,) = struct.unpack("<Q", data[:8])
        self.assertEqual(n % 8, 0)
        header = json.loads(data[8:8 + n])
        self.assertEqual(list(header), list(t))
        self.assertEqual(header["a.num_batches_tracked"], {"dtype": "I64", "shape": [], "data_offsets": [48, 56]})
        self.assertEqual(header["z.weight"]["dtype"], "F32")
        self.assertEqual(struct.unpack("<q", data[8 + n + 48:8 + n + 56])[0], 123456789012)
        self.assertEqual(len(data), 8 + n + header["ids"]["data_offsets"][1])

    def test_reads_metadata_and_refuses_bad_files(self):
        head = json.dumps({"__metadata__": {"format": "pt"},
                           "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
        with open(self.path, "wb") as f:
            f.write(struct.pack("<Q", len(head)) + head + struct.pack("<2f", 1.5, -2))
        self.assertEqual(torch_zoo.load_safetensors(self.path)["x"].tolist(), [1.5, -2])
        cases = {
            "truncated": (lambda d: d[:-1], "do not fit"),
            "short": (lambda d: d[:5], "not safetensors"),
            "long header": (lambda d: struct.pack("<Q", 10 ** 9) + d[8:], "truncated"),
            "bad dtype": (lambda d: d.replace(b'"F32"', b'"F8X"'), "dtype F8X"),
            "not JSON": (lambda d: d[:8] + b"{" * (len(d) - 8), "not JSON"),
        }
        good = slurp(self.path)
        for name, (spoil, want) in cases.items():
            with open(self.path, "wb") as f:
                f.write(spoil(good))
            with self.assertRaises(SystemExit, msg=name) as cm:
                torch_zoo.load_safetensors(self.path)
            msg = str(cm.exception.code)
            self.assertIn(want, msg, name)
            self.assertNotIn("\n", msg, name)


class CLI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.archive = write_archive(cls.dir.name)
        cls.extracted = os.path.join(cls.dir.name, "bin", "cifar-10-batches-bin")

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def p(self, name):
        return os.path.join(self.dir.name, name)

    def test_init_eval_every_arch(self):
        for arch in zoo.ARCHES:
            w = self.p(arch + ".safetensors")
            run("init", "--arch", arch, "--seed", 5, "--out", w)
            got = torch_zoo.load_safetensors(w)
            self.assertEqual([(k, list(v.shape)) for k, v in got.items()], shapes(zoo.make(arch)), arch)
            torch.manual_seed(5)
            want = zoo.make(arch).state_dict()
            for k in want:
                self.assertTrue(torch.equal(got[k], want[k]), k)
            r = run("eval", "--arch", arch, "--weights", w, "--archive", self.archive, "--limit", 5)
            self.assertEqual(r["n"], 5)
            self.assertEqual(len(r["predictions"]), 5)
            self.assertAlmostEqual(r["accuracy"], 100 * r["correct"] / 5)

    def test_eval_matches_a_direct_forward_and_writes_logits(self):
        w, logits = self.p("e.safetensors"), self.p("e.logits")
        run("init", "--arch", "airbench-tiny", "--seed", 2, "--out", w)
        r = run("eval", "--arch", "airbench-tiny", "--weights", w, "--archive", self.extracted,
                "--out-logits", logits, "--batch", 5)
        self.assertEqual(r["n"], 12)
        raw = slurp(logits)
        self.assertEqual(len(raw), 12 * 10 * 4)
        got = torch.tensor(struct.unpack("<120f", raw)).reshape(12, 10)
        # The same by hand: the records, / 255, normalized, the network in eval mode.
        rec = slurp(os.path.join(self.extracted, "test_batch.bin"))
        x = torch.tensor(list(rec), dtype=torch.float32).reshape(12, 3073)
        labels = x[:, 0].long()
        mean = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
        std = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)
        x = (x[:, 1:].reshape(12, 3, 32, 32) / 255 - mean) / std
        torch.manual_seed(2)
        m = zoo.make("airbench-tiny").eval()
        with torch.no_grad():
            want = m(x)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        self.assertEqual(r["predictions"], want.argmax(1).tolist())
        self.assertEqual(r["correct"], int((want.argmax(1) == labels).sum()))
        # The folder above cifar-10-batches-bin works too.
        r2 = run("eval", "--arch", "airbench-tiny", "--weights", w, "--archive", os.path.dirname(self.extracted))
        self.assertEqual(r2["predictions"], r["predictions"])

    def test_step(self):
        for arch in ("airbench-tiny", "resnet18"):
            w, w2, g = self.p(arch + "-s.safetensors"), self.p(arch + "-s2.safetensors"), self.p(arch + "-g.safetensors")
            run("init", "--arch", arch, "--seed", 4, "--out", w)
            r = run("step", "--arch", arch, "--weights", w, "--archive", self.archive, "--batch", 6,
                    "--lr", 0.5, "--out", w2, "--out-grads", g)
            before, after, grads = (torch_zoo.load_safetensors(f) for f in (w, w2, g))
            self.assertEqual(list(after), list(before), arch)
            # By hand: the first 6 training records, train mode, mean cross-entropy.
            rec = slurp(os.path.join(self.extracted, "data_batch_1.bin"))[:6 * 3073]
            x = torch.tensor(list(rec), dtype=torch.float32).reshape(6, 3073)
            y = x[:, 0].long()
            x = zoo.normalize(x[:, 1:].reshape(6, 3, 32, 32) / 255, arch)
            m = zoo.make(arch)
            m.load_state_dict(before)
            m.train()
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            self.assertAlmostEqual(r["loss"], loss.item(), places=5)
            trained = {k for k, p in m.named_parameters() if p.requires_grad}
            self.assertEqual(set(grads), trained)
            for k, p in m.named_parameters():
                if p.requires_grad:
                    torch.testing.assert_close(after[k], before[k] - 0.5 * p.grad, rtol=1e-4, atol=1e-6)
                else:
                    self.assertTrue(torch.equal(after[k], before[k]), k)
            for k, v in m.state_dict().items():  # BatchNorm's running statistics, as PyTorch updates them
                if "running" in k or k.endswith("num_batches_tracked"):
                    torch.testing.assert_close(after[k], v, rtol=1e-5, atol=1e-6)
            nbt = [k for k in after if k.endswith("num_batches_tracked")]
            self.assertTrue(nbt)
            for k in nbt:
                self.assertEqual(after[k].dtype, torch.int64)
                self.assertEqual(int(after[k]), 1, k)
            if arch == "airbench-tiny":  # momentum 0.4: 0.6 * 0 + 0.4 * the batch mean
                self.assertGreater(float(after["block1.norm1.running_mean"].abs().sum()), 0)
                self.assertFalse(torch.equal(after["block1.norm1.running_var"], before["block1.norm1.running_var"]))

    def test_step_float64(self):
        w, w32, w64 = self.p("f.safetensors"), self.p("f32.safetensors"), self.p("f64.safetensors")
        run("init", "--arch", "airbench-tiny", "--seed", 9, "--out", w)
        common = ["step", "--arch", "airbench-tiny", "--weights", w, "--archive", self.archive, "--batch", 8, "--lr", 0.2]
        r32 = run(*common, "--out", w32)
        r64 = run(*common, "--out", w64, "--float64")
        self.assertAlmostEqual(r32["loss"], r64["loss"], places=5)
        a, b = torch_zoo.load_safetensors(w32), torch_zoo.load_safetensors(w64)
        self.assertEqual(list(a), list(b))
        for k in a:
            self.assertEqual(a[k].dtype, b[k].dtype, k)
            torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-5)
        r = run("eval", "--arch", "airbench-tiny", "--weights", w64, "--archive", self.archive, "--float64")
        self.assertEqual(r["n"], 12)

    def test_step_refuses_the_seed(self):
        w = self.p("seed-step.safetensors")
        run("init", "--arch", "seed", "--out", w)
        with self.assertRaises(SystemExit) as cm:
            run("step", "--arch", "seed", "--weights", w, "--archive", self.archive, "--batch", 2,
                "--lr", 0.1, "--out", self.p("x.safetensors"))
        self.assertIn("dropout", str(cm.exception.code))

    def test_train_then_eval(self):
        w = self.p("t.safetensors")
        r = run("train", "--arch", "airbench-tiny", "--archive", self.archive, "--steps", 3, "--batch", 16,
                "--lr", 0.05, "--seed", 1, "--out", w)
        self.assertEqual(len(r["losses"]), 3)
        got = torch_zoo.load_safetensors(w)
        self.assertEqual(int(got["block2.norm2.num_batches_tracked"]), 3)
        run("eval", "--arch", "airbench-tiny", "--weights", w, "--archive", self.archive)

    def test_the_command_line(self):
        """The real command, as a Go test runs it: init then eval, JSON on stdout."""
        w = self.p("cli.safetensors")
        tool = os.path.join(HERE, "torch_zoo.py")
        subprocess.run([sys.executable, tool, "init", "--arch", "airbench-tiny", "--seed", "0", "--out", w],
                       check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([sys.executable, tool, "eval", "--arch", "airbench-tiny", "--weights", w,
                              "--archive", self.archive], check=True, stdout=subprocess.PIPE).stdout
        self.assertEqual(len(out.decode().strip().splitlines()), 1)
        self.assertEqual(json.loads(out)["n"], 12)
        bad = subprocess.run([sys.executable, tool, "eval", "--arch", "resnet18", "--weights", w,
                              "--archive", self.archive], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(bad.returncode, 1)
        err = bad.stderr.decode().strip()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("does not fit the ResNet18 network: missing conv1.weight", err)

    def test_bad_input(self):
        w = self.p("b.safetensors")
        run("init", "--arch", "airbench-tiny", "--out", w)
        bad_dir = os.path.join(self.dir.name, "badlabel")
        os.makedirs(bad_dir)
        bad_archive = write_archive(bad_dir, n_test=5, n_train=5, bad_label=True)
        truncated = self.p("short.bin")
        with open(truncated, "wb") as f:
            f.write(b"not a tar archive " * 200)
        cases = [
            (["eval", "--arch", "airbench94", "--weights", w, "--archive", self.archive], "block1.conv1.weight is [16, 24, 3, 3], want [64, 24, 3, 3]"),
            (["eval", "--arch", "airbench-tiny", "--weights", w, "--archive", bad_archive], "record 3 has label 11"),
            (["eval", "--arch", "airbench-tiny", "--weights", w, "--archive", truncated], "not a readable tar archive"),
            (["eval", "--arch", "airbench-tiny", "--weights", w, "--archive", self.dir.name + "/nope"], "no such file"),
            (["eval", "--arch", "airbench-tiny", "--weights", w, "--archive", self.dir.name], "has no test_batch.bin"),
            (["eval", "--arch", "vgg", "--weights", w, "--archive", self.archive], "invalid choice: 'vgg'"),
            (["step", "--arch", "airbench-tiny", "--weights", w, "--archive", self.archive, "--batch", 0,
              "--lr", 1, "--out", self.p("x")], "--batch: 0 must be positive"),
            (["step", "--arch", "airbench-tiny", "--weights", w, "--archive", self.archive, "--batch", 41,
              "--lr", 1, "--out", self.p("x")], "has only 40 images"),
            (["train", "--arch", "airbench-tiny", "--archive", self.archive, "--steps", 1, "--batch", 2,
              "--lr", "nan", "--out", self.p("x")], "--lr: nan must be a finite number"),
            (["init", "--arch", "seed", "--out", self.p("no/such/dir/w")], "no such directory"),
            ([], "give a command"),
        ]
        for argv, want in cases:
            with self.assertRaises(SystemExit, msg=argv) as cm, contextlib.redirect_stderr(io.StringIO()):
                run(*argv)
            msg = str(cm.exception.code)
            self.assertIn(want, msg, argv)
            self.assertTrue(msg.startswith("torch_zoo.py: "), msg)
            self.assertNotIn("\n", msg, argv)


if __name__ == "__main__":
    unittest.main()

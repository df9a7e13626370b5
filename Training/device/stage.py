"""Stages what a training run on a machine without the photos needs, in `.build-device/` (git-ignored,
about 40 MB): the train and validation photos at their paths under `root/`, shrunk exactly as
`edit_data.load_photo` shrinks them and saved lossless (they load identically), and the encoder's
weights under `models/`. Run from the checkout's root; then `Training/device/train.sh` there."""
import os
import shutil
import sys

sys.path.insert(0, "Training")
import edit_data  # noqa: E402
from PIL import Image  # noqa: E402
out = ".build-device/root"
for name, path in edit_data.sources().items():
    if edit_data.split_of(name) == "bench":
        continue
    dst = out + path
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = 512 / min(im.size)
        if scale < 1:
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
        im.save(dst, format="PNG")
os.makedirs(".build-device/models", exist_ok=True)
shutil.copy(os.path.expanduser("~/.local/share/deltaflow/models/efficientnet-lite0.safetensors"), ".build-device/models/")

#!/usr/bin/env bash
# One run on a lent GPU machine, from the checkout's root with `.build-device/` (made by Training/device/stage.py)
# beside it: builds the data on every core, trains until DEADLINE seconds after the start with the
# schedule annealed by time, exports, and scores the new and the previously bundled models on the same
# validation data. Writes its logs and the exported files to $OUT. EX: exemplars (2000), BATCH (64).
set -euo pipefail
T0=$(date +%s)
cp -r .build-device/root/usr/share/. /usr/share/
export DELTAFLOW_MODELS_DIR=$PWD/.build-device/models PYTHONUNBUFFERED=1
nproc; nvidia-smi -L || true; python3 -c "import torch; print(torch.__version__, torch.cuda.is_available())"
cp Models/edit-v1.safetensors /tmp/bundled.safetensors
EX=${EX:-2000}
python3 Training/train_edit.py --exemplars $EX --data-only --workers $(nproc) 2>&1 | tee $OUT/data.log
ELAPSED=$(( $(date +%s) - T0 ))
MIN=$(python3 -c "print(max(0.5, (${DEADLINE:-490} - $ELAPSED) / 60))")
echo "data took $ELAPSED s; training $MIN min"
python3 Training/train_edit.py --exemplars $EX --steps 1000000 --batch ${BATCH:-64} --minutes $MIN --anneal-by-time 2>&1 | tee $OUT/train.log
cp Models/edit-v1.safetensors Tests/ModelsTests/Goldens/edit-model.safetensors $OUT/
python3 Training/evaluate_edit_models.py Models/edit-v1.safetensors /tmp/bundled.safetensors 2>&1 | tee $OUT/compare.log
echo "total $(( $(date +%s) - T0 )) s"

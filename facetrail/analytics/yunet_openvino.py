"""YuNet on the OpenVINO runtime: the same network and the same boxes as cv2.FaceDetectorYN (within 0.001 px
on the street footage of ../shared), about twice as fast on CPU (BENCHMARKS.md): OpenCV 5's new graph
engine takes ~70-90 ms for a 960x544 picture on one core where OpenVINO takes ~35 ms. It runs in float32:
bfloat16, OpenVINO's default on CPUs with AMX, is faster again but moves boxes by a few pixels.

The network takes a BGR picture padded (bottom and right, with zeros) to multiples of 32 and
answers, for each cell of its stride-8, -16 and -32 grids, a class and an objectness score, a box
(centre offset in cells, log size in cells) and five landmarks (offsets in cells). Decoding,
the score threshold and non-maximum suppression follow OpenCV's FaceDetectorYN (face_detect.cpp).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

STRIDES = (8, 16, 32)
NMS_THRESHOLD = 0.3
TOP_K = 5000
# Input shapes whose prepared kernels and buffers are kept (OpenVINO's default, 5000, let a worker grow by
# hundreds of MB); the detector's region ladder (detector.LADDER_PX) keeps a camera to a few dozen shapes.
SHAPES_KEPT = 48


class YuNetOnOpenVino:
    def __init__(self, model_path: Path, score_threshold: float, threads: int = 0):
        import openvino as ov

        core = ov.Core()
        network = core.read_model(str(model_path))
        network.reshape({network.inputs[0].get_any_name(): [1, 3, -1, -1]})  # any picture size, no recompiling
        settings = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32",
                    "CPU_RUNTIME_CACHE_CAPACITY": SHAPES_KEPT} | \
            ({"INFERENCE_NUM_THREADS": threads} if threads else {})
        compiled = core.compile_model(network, "CPU", settings)
        self._request = compiled.create_infer_request()
        self._outputs = {name: o for o in compiled.outputs for name in o.get_names()}
        self.score_threshold = float(score_threshold)

    def detect(self, image: np.ndarray) -> np.ndarray:
        """(n, 15) rows as cv2.FaceDetectorYN gives them: x, y, w, h, five landmarks (x, y), score."""
        height, width = image.shape[:2]
        pad_h, pad_w = -(-height // 32) * 32, -(-width // 32) * 32
        padded = cv2.copyMakeBorder(image, 0, pad_h - height, 0, pad_w - width, cv2.BORDER_CONSTANT, value=0)
        blob = padded.transpose(2, 0, 1)[None].astype(np.float32)
        result = self._request.infer({0: blob})
        rows = [self._decode(result, stride, pad_h // stride, pad_w // stride) for stride in STRIDES]
        faces = np.concatenate(rows) if rows else np.zeros((0, 15), np.float32)
        faces = faces[faces[:, 14] >= self.score_threshold]
        if not len(faces):
            return faces
        # on integer boxes, as FaceDetectorYN suppresses (Rect2i): float boxes keep a different face now and then
        keep = cv2.dnn.NMSBoxes(faces[:, :4].astype(np.int32).tolist(), faces[:, 14].tolist(), self.score_threshold, NMS_THRESHOLD,
                                top_k=TOP_K)
        return faces[np.asarray(keep, np.int64).reshape(-1)]

    def _decode(self, result, stride: int, rows: int, cols: int) -> np.ndarray:
        def output(name: str) -> np.ndarray:
            return np.asarray(result[self._outputs[f"{name}_{stride}"]]).reshape(rows * cols, -1)

        cls, obj = np.clip(output("cls")[:, 0], 0, 1), np.clip(output("obj")[:, 0], 0, 1)
        score = np.sqrt(cls * obj)
        bbox, kps = output("bbox"), output("kps")
        row, col = np.divmod(np.arange(rows * cols), cols)
        cx, cy = (col + bbox[:, 0]) * stride, (row + bbox[:, 1]) * stride
        w, h = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
        landmarks = np.empty((rows * cols, 10), np.float32)
        landmarks[:, 0::2] = (kps[:, 0::2] + col[:, None]) * stride
        landmarks[:, 1::2] = (kps[:, 1::2] + row[:, None]) * stride
        return np.column_stack([cx - w / 2, cy - h / 2, w, h, landmarks, score]).astype(np.float32)

"""DMV-JND for a detector (issue 13): a JND generator trained against CenterNet (MobileNetV3).

  npm run train:jnd-detector          # frames -> precompute -> train both variants -> export -> evaluate

Modules: ``frames`` (ffmpeg-decoded dev-clip frames and stills, cached outside the repo),
``precompute`` (fixed crop pool + the detector's reference outputs), ``model`` (generator,
block-DCT codec proxy, export wrappers), ``losses`` (Loss 1 for heatmaps/boxes, Losses 2-3,
rate term), ``train`` (resumable), ``export`` (ONNX + sidecar), ``evaluate`` (WGN, homogeneity,
offline comparison at matched mean log-step), ``stub`` (random stand-in detector for CI).
"""

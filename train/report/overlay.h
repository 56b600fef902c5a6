// Grad-CAM heatmaps drawn over the image a person gave (skinnet explain, skinnet serve, report.html).
//
// The map (h x w values in [0, 1], normalize_cam in models/gradcam.h) was computed on the network input,
// which is the eval crop of the image (train/data/image.h: eval_crop_box). Each pixel of the original image
// inside that crop takes the map's value bilinearly interpolated at its position, with cell centres at
// half-integers and edges clamped (PyTorch's F.interpolate(mode="bilinear", align_corners=False) onto the
// crop), coloured with the jet colour map (dark blue 0, red 1, as in the Grad-CAM paper's figures) and
// blended half and half with the image. Pixels outside the crop, which the network never saw, are darkened
// and left uncoloured. A colour bar at the right shows the scale (0 at the bottom, 1 at the top, ticks at
// quarters): width/16 pixels wide, at least 12, after a white gap of half that.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "train/data/image.h"

namespace nn {

std::array<uint8_t, 3> jet_colour(double v);  // v in [0, 1]; clamped

Image cam_overlay(const Image& image, const Preprocessing& p, const std::vector<float>& map, int64_t h, int64_t w,
                  bool colour_bar = true);

}  // namespace nn

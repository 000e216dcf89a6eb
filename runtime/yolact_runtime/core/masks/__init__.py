"""Mask assembly for one image's kept rows: sigmoid(P C^T) in the padded boxes, upsample and
threshold inside each mask's window, then bool planes or COCO RLE. build.py is the entry point;
the modules below it import only downwards (build -> planes, rle -> windows; soft), with core/scratch.py for their temporaries."""

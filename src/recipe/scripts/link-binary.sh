# Lay out /usr/local/bin in one snapshot for daemons whose file ops cannot make
# symlinks: copy the staged tree from $MTTS_STAGED to $MTTS_OUT, then add the
# argv[0] links to $MTTS_BINARY (an absolute path inside the image).
cp -a "$MTTS_STAGED/." "$MTTS_OUT/"
bin_dir=${MTTS_BINARY%/*}
ln -s "$MTTS_BINARY" "$MTTS_OUT$bin_dir/tailscale"
ln -s "$MTTS_BINARY" "$MTTS_OUT$bin_dir/tailscaled"

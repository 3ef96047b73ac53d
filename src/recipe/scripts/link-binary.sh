# Lay out /usr/local/bin in one snapshot for daemons whose file ops cannot make
# symlinks: copy the staged tree, then add the argv[0] links.
cp -a /staged/. /out/
ln -s /usr/local/bin/tailscale.combined /out/usr/local/bin/tailscale
ln -s /usr/local/bin/tailscale.combined /out/usr/local/bin/tailscaled

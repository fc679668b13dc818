# On removal (not upgrade), disable the units before their files go: stopped too when
# systemd runs, only unlinked when it does not (an image being built, a chroot).
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now sshdoctor.timer sshdoctor.service >/dev/null 2>&1 || :
  else
    systemctl disable sshdoctor.timer sshdoctor.service >/dev/null 2>&1 || :
  fi
fi

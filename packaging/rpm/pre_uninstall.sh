# On removal (not upgrade), disable the units before their files go.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
  systemctl disable --now sshdoctor.timer sshdoctor.service >/dev/null 2>&1 || :
fi

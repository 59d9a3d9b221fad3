# zsh completion capture for tests/completion-test-shells.sh: `zsh -f completion-capture.zsh DIR
# LINE` starts an interactive zsh on a pseudo-terminal (zpty), loads the completion of DIR with
# compinit, types LINE and a Tab, and prints each match zsh offers, one a line.
zmodload zsh/zpty || exit 3
zpty capture zsh -f -i
zpty -w capture "PS1=''; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
# Every real compadd (not the filtering ones with -O, -A or -D) also prints its matches; the
# markers are split in the typed text so that zsh's echo of it never matches them.
zpty -w capture 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -A hits "$@"; local hit
  for hit in $hits; do print -r -- "<MAT""CH>$IPREFIX$hit"; done
  builtin compadd "$@"
}'
zpty -w capture 'capture_done() { print -r -- "<DO""NE>"; }; comppostfuncs=(capture_done)'
zpty -w capture 'bindkey "^I" complete-word'
zpty -n -w capture "$2"$'\t'
while zpty -r capture line; do
  line=${line//$'\r'/}
  [[ $line == *'<DONE>'* ]] && break
  [[ $line == *'<MATCH>'* ]] && print -r -- "${${line##*<MATCH>}%$'\n'}"
done
zpty -d capture

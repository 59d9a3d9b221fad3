# Lines per function in C files written in this project's style (a definition starts at column
# 0, its body ends with "}" at column 0). Usage: awk -f bench/function_lengths.awk src/*.c | sort -rn
/^[A-Za-z_][^=;]*[(]/ && !infn && !sig && !/^(if|for|while|switch|return)/ { sig=1; name=$0; start=FNR }
sig && /;[ ]*$/ && !/[{]/ { sig=0 }
sig && /[{][ ]*$/ { sig=0; infn=1; next }
/^}/ && infn { sub(/[(].*/, "", name); k = split(name, a, " "); fn = a[k]; sub(/^[*]+/, "", fn);
  printf "%5d %s:%s\n", FNR - start + 1, FILENAME, fn; infn = 0 }

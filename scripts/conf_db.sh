# conf_db KEY [FILE]: a string setting of the database group of a
# portal.conf (FILE, else $PORTAL_CONF).  Sourced by scripts/stack.sh and by
# the shell tests that reach the stack's MariaDB themselves.
conf_db() {
	awk -v key="$1" '
		/^[[:space:]]*database[[:space:]]*[:=]/ { in_db = 1; next }
		in_db && /^[[:space:]]*}/ { in_db = 0 }
		in_db {
			line = $0
			sub(/#.*/, "", line)
			if (match(line, "^[[:space:]]*" key "[[:space:]]*[:=][[:space:]]*\"")) {
				v = substr(line, RLENGTH + 1)
				sub(/".*/, "", v)
				print v
				exit
			}
		}' "${2:-$PORTAL_CONF}"
}

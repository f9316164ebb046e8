# Sourced by ./payrail and ./test. Installs what is missing, then builds; safe to run again.
# Only Debian packages (apt-get) and NuGet are used, so a fresh machine gets the same result.

PAYRAIL_ROOT=${PAYRAIL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PAYRAIL_CONFIGURATION=${PAYRAIL_CONFIGURATION:-Release}
# PostgreSQL 15 and Redis 7 run as project-local servers; kcat is devkafka's second client in tests;
# acl lets the postgres user traverse a private home folder that holds the project; chromium is the browser the
# dashboard's tests drive (Playwright's own browser download is not used).
PAYRAIL_APT_PACKAGES=(postgresql-15 postgresql-client-15 redis-server kcat acl chromium)

# How long to wait for another package manager (unattended-upgrades, a second ./payrail) to release apt's locks.
PAYRAIL_APT_LOCK_TIMEOUT_SECONDS=${PAYRAIL_APT_LOCK_TIMEOUT_SECONDS:-300}

log() { printf '[payrail] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# DPkg::Lock::Timeout makes apt-get wait for dpkg's lock instead of failing at once.
apt_get() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$PAYRAIL_APT_LOCK_TIMEOUT_SECONDS" "$@"
}

# `apt-get update` takes the lists lock, which apt 2.6 does not wait for even with DPkg::Lock::Timeout (measured: two
# updates at once, the second exits 100 "Could not get lock /var/lib/apt/lists/lock"): retry while that is the error.
apt_update() {
  local deadline=$((SECONDS + PAYRAIL_APT_LOCK_TIMEOUT_SECONDS)) output
  while ! output=$(apt_get update -q 2>&1 >/dev/null); do
    if ! grep -q 'Could not get lock' <<<"$output" || [ "$SECONDS" -ge "$deadline" ]; then
      printf '%s\n' "$output" >&2
      return 1
    fi
    log "another package manager holds apt's lists lock; waiting"
    sleep 2
  done
}

provision_packages() {
  local missing=()
  for pkg in "${PAYRAIL_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  apt_update
  # policy-rc.d 101 keeps the packages' own system-wide servers from starting: Payrail runs its own.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy" && created_policy=1
  fi
  apt_get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  [ $created_policy -eq 1 ] && as_root rm -f "$policy"
  return 0
}

provision_build() {
  local stamp="$PAYRAIL_ROOT/.payrail/build.$PAYRAIL_CONFIGURATION.stamp"
  mkdir -p "$PAYRAIL_ROOT/.payrail"
  if [ -f "$stamp" ] && [ -z "$(find "$PAYRAIL_ROOT/src" "$PAYRAIL_ROOT/tests" "$PAYRAIL_ROOT"/*.props "$PAYRAIL_ROOT"/*.targets "$PAYRAIL_ROOT/Payrail.slnx" \
        -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' -o -name '*.json' -o -name '*.sql' -o -name '*.slnx' -o -name '*.html' -o -name '*.js' -o -name '*.css' \) \
        -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
    return 0
  fi
  log "building ($PAYRAIL_CONFIGURATION)"
  dotnet build "$PAYRAIL_ROOT/Payrail.slnx" -c "$PAYRAIL_CONFIGURATION" -nologo -v quiet -clp:ErrorsOnly >&2
  touch "$stamp"
}

# Two commands started at once in one project (on a new machine: both install, both build) take turns: the second
# waits for the first's packages and build, then finds nothing to do. The lock lives in a subshell, so it is released
# before the command runs (a running `up` must not hold it).
provision() {
  mkdir -p "$PAYRAIL_ROOT/.payrail"
  (
    if ! flock -w 1800 9; then
      log "another provisioning of this project did not finish within 30 minutes"
      exit 1
    fi
    provision_packages
    provision_build
  ) 9>"$PAYRAIL_ROOT/.payrail/provision.lock"
}

#compdef microtorr

__microtorr_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__microtorr_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __microtorr_complete "${completions[@]:0:-1}"
    fi
}

__microtorr_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_microtorr() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'create:Create a .mtorrent (BitTorrent v1 metainfo) for a file or a directory.'
            'info:Show what a .mtorrent or .torrent file describes.'
            'tracker:Run an HTTP BitTorrent tracker (announce, scrape, Prometheus metrics).'
            'download:Download a torrent (or seed existing data with -s), then seed until interrupted.'
            'demo:Replay the original walkthrough on loopback: tracker, rate-limited seeder, two cooperating leechers.'
            'daemon:Run the appliance: share dropped files, download dropped .mtorrent files, as the YAML config says.'
            'check-config:Validate an appliance configuration file; print every error with its line and column.'
            'completion:Print the shell completion script for bash, zsh or fish.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        create|info|tracker|download|demo|daemon|check-config|completion|help)
            "_microtorr_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_microtorr_create() {
    local -i ret=1
    local -ar ___log_format=('json' 'text')
    local -ar arg_specs=(
        ':path:_files'
        '*'{-t,--tracker}'[Tracker announce URL; repeat for more (the first is '\''announce'\''; each is a tier of '\''announce-list'\'').]:tracker:'
        '(-o --output)'{-o,--output}'[Where to write the metainfo file (default\: ./NAME.mtorrent).]:output:_files'
        '--piece-length[Piece length in bytes (262144, 256K, 1M) or '\''auto'\'' (about 1000-2000 pieces).]:piece-length:'
        '--comment[A comment stored in the file.]:comment:'
        '--private[Mark the torrent private (BEP 27)\: peers only from its trackers.]'
        '--threads[Hashing threads (default\: all cores).]:threads:'
        '--no-id-hash[Leave out the original MicroTorr'\''s id_hash (a whole-content SHA-1 that costs a second serial pass).]'
        '--no-date[Leave out the creation date, so the same input gives the same file.]'
        '(-f --force)'{-f,--force}'[Replace the output file if it exists.]'
        '(-v --verbosity)'{-v,--verbosity}'[Verbosity\: 0 quiet, 1 info, 2 debug, 3 trace.]:verbosity:'
        '--log-format[Log line format\: text or json (default\: text on a terminal, json otherwise).]:log-format:{__microtorr_complete "${___log_format[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_info() {
    local -i ret=1
    local -ar ___log_format=('json' 'text')
    local -ar arg_specs=(
        ':file:_files -g '\''*.mtorrent *.torrent'\'''
        '--json[Print one JSON object instead of text.]'
        '(-v --verbosity)'{-v,--verbosity}'[Verbosity\: 0 quiet, 1 info, 2 debug, 3 trace.]:verbosity:'
        '--log-format[Log line format\: text or json (default\: text on a terminal, json otherwise).]:log-format:{__microtorr_complete "${___log_format[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_tracker() {
    local -i ret=1
    local -ar ___log_format=('json' 'text')
    local -ar arg_specs=(
        '--listen[Address and port to listen on.]:listen:'
        '--interval[Seconds between a peer'\''s announces.]:interval:'
        '--peer-timeout[Seconds before a silent peer is dropped.]:peer-timeout:'
        '--whitelist[Track only the torrents whose .mtorrent/.torrent is in this directory.]:whitelist:_files -/'
        '--max-peers-per-swarm[Most peers listed per torrent.]:max-peers-per-swarm:'
        '--max-swarms[Most torrents tracked at once.]:max-swarms:'
        '--max-connections[Most connections held at once; past it the least recently active is closed (bounds descriptors under a flood).]:max-connections:'
        '--threads[Event loop threads (default\: all cores).]:threads:'
        '(-v --verbosity)'{-v,--verbosity}'[Verbosity\: 0 quiet, 1 info, 2 debug, 3 trace.]:verbosity:'
        '--log-format[Log line format\: text or json (default\: text on a terminal, json otherwise).]:log-format:{__microtorr_complete "${___log_format[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_download() {
    local -i ret=1
    local -ar ___log_format=('json' 'text')
    local -ar arg_specs=(
        ':file:_files -g '\''*.mtorrent *.torrent'\'''
        '(-s --seed)'{-s,--seed}'[Seed this existing file or directory (verified first).]:seed:_files'
        '(-o --output)'{-o,--output}'[Directory to download into (default\: current).]:output:_files -/'
        '(-i --interface)'{-i,--interface}'[Bind to this interface'\''s IPv4 address and announce it.]:interface:'
        '(-p --port)'{-p,--port}'[Port to listen on for peers (default\: any free port).]:port:'
        '(-u --upload-limit)'{-u,--upload-limit}'[Upload limit in kB/s (1 kB = 1000 bytes; 0 = unlimited).]:upload-limit:'
        '(-d --download-limit)'{-d,--download-limit}'[Download limit in kB/s (1 kB = 1000 bytes; 0 = unlimited).]:download-limit:'
        '--wait-seeders[Request nothing until the swarm has this many seeders.]:wait-seeders:'
        '--wait-leechers[Request nothing until the swarm has this many other leechers.]:wait-leechers:'
        '*--peer[Connect to this peer (HOST\:PORT); may repeat.]:peer:'
        '--tracker[Use this tracker instead of the ones in the file.]:tracker:'
        '--exit-on-complete[Exit once the download is complete instead of seeding.]'
        '--max-peers[Most peer connections.]:max-peers:'
        '(-v --verbosity)'{-v,--verbosity}'[Verbosity\: 0 quiet, 1 info, 2 debug, 3 trace.]:verbosity:'
        '--log-format[Log line format\: text or json (default\: text on a terminal, json otherwise).]:log-format:{__microtorr_complete "${___log_format[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_demo() {
    local -i ret=1
    local -ar ___log_format=('json' 'text')
    local -ar arg_specs=(
        '--size[Size of the random file in MB (1 MB = 1 000 000 bytes).]:size:'
        '(-u --seeder-rate)'{-u,--seeder-rate}'[The seeder'\''s upload limit in kB/s.]:seeder-rate:'
        '--keep[Keep the temporary directory (its path is printed).]'
        '(-v --verbosity)'{-v,--verbosity}'[Verbosity\: 0 quiet, 1 info, 2 debug, 3 trace.]:verbosity:'
        '--log-format[Log line format\: text or json (default\: text on a terminal, json otherwise).]:log-format:{__microtorr_complete "${___log_format[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_daemon() {
    local -i ret=1
    local -ar arg_specs=(
        '--config[The YAML file (default\: /etc/microtorr/microtorr.yaml if it exists, else a local default under ./microtorr-data).]:config:_files -g '\''*.yaml *.yml'\'''
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_check-config() {
    local -i ret=1
    local -ar arg_specs=(
        '--config[The YAML file (default\: /etc/microtorr/microtorr.yaml).]:config:_files -g '\''*.yaml *.yml'\'''
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_completion() {
    local -i ret=1
    local -ar _shell=('bash' 'zsh' 'fish')
    local -ar arg_specs=(
        ':shell:{__microtorr_complete "${_shell[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_microtorr_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _microtorr ]]; then
    _microtorr "${@}"
else
    compdef _microtorr microtorr
fi

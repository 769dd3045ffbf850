function __microtorr_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __microtorr_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __microtorr_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __microtorr_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __microtorr_parse_tokens -S
    set -l unparsed_tokens (__microtorr_tokens -pc)
    switch $unparsed_tokens[1]
    case 'microtorr'
        __microtorr_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'create'
            __microtorr_parse_subcommand 1 't/tracker=+' 'o/output=' 'piece-length=' 'comment=' 'private' 'threads=' 'no-id-hash' 'no-date' 'f/force' 'v/verbosity=' 'log-format=' 'version' 'h/help'
        case 'info'
            __microtorr_parse_subcommand 1 'json' 'v/verbosity=' 'log-format=' 'version' 'h/help'
        case 'tracker'
            __microtorr_parse_subcommand 0 'listen=' 'interval=' 'peer-timeout=' 'whitelist=' 'max-peers-per-swarm=' 'max-swarms=' 'max-connections=' 'threads=' 'v/verbosity=' 'log-format=' 'version' 'h/help'
        case 'download'
            __microtorr_parse_subcommand 1 's/seed=' 'o/output=' 'i/interface=' 'p/port=' 'u/upload-limit=' 'd/download-limit=' 'wait-seeders=' 'wait-leechers=' 'peer=+' 'tracker=' 'exit-on-complete' 'max-peers=' 'v/verbosity=' 'log-format=' 'version' 'h/help'
        case 'demo'
            __microtorr_parse_subcommand 0 'size=' 'u/seeder-rate=' 'keep' 'v/verbosity=' 'log-format=' 'version' 'h/help'
        case 'daemon'
            __microtorr_parse_subcommand 0 'config=' 'version' 'h/help'
        case 'check-config'
            __microtorr_parse_subcommand 0 'config=' 'version' 'h/help'
        case 'completion'
            __microtorr_parse_subcommand 1 'version' 'h/help'
        case 'help'
            __microtorr_parse_subcommand -r 1 'version'
        end
    end
end

function __microtorr_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __microtorr_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __microtorr_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __microtorr_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__microtorr_tokens -p)
    if test -z "$(__microtorr_tokens -t)"
        set -l index (count (__microtorr_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'microtorr' -f
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'create' -d 'Create a .mtorrent (BitTorrent v1 metainfo) for a file or a directory.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'info' -d 'Show what a .mtorrent or .torrent file describes.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'tracker' -d 'Run an HTTP BitTorrent tracker (announce, scrape, Prometheus metrics).'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'download' -d 'Download a torrent (or seed existing data with -s), then seed until interrupted.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'demo' -d 'Replay the original walkthrough on loopback: tracker, rate-limited seeder, two cooperating leechers.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'daemon' -d 'Run the appliance: share dropped files, download dropped .mtorrent files, as the YAML config says.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'check-config' -d 'Validate an appliance configuration file; print every error with its line and column.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'completion' -d 'Print the shell completion script for bash, zsh or fish.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr create" -eq 1' -F
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create"' -s 't' -l 'tracker' -d 'Tracker announce URL; repeat for more (the first is \'announce\'; each is a tier of \'announce-list\').' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" o output' -s 'o' -l 'output' -d 'Where to write the metainfo file (default: ./NAME.mtorrent).' -rF
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" piece-length' -l 'piece-length' -d 'Piece length in bytes (262144, 256K, 1M) or \'auto\' (about 1000-2000 pieces).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" comment' -l 'comment' -d 'A comment stored in the file.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" private' -l 'private' -d 'Mark the torrent private (BEP 27): peers only from its trackers.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" threads' -l 'threads' -d 'Hashing threads (default: all cores).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" no-id-hash' -l 'no-id-hash' -d 'Leave out the original MicroTorr\'s id_hash (a whole-content SHA-1 that costs a second serial pass).'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" no-date' -l 'no-date' -d 'Leave out the creation date, so the same input gives the same file.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" f force' -s 'f' -l 'force' -d 'Replace the output file if it exists.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" v verbosity' -s 'v' -l 'verbosity' -d 'Verbosity: 0 quiet, 1 info, 2 debug, 3 trace.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" log-format' -l 'log-format' -d 'Log line format: text or json (default: text on a terminal, json otherwise).' -rfka 'json text'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr info" -eq 1' -fa '(set -l exts \'mtorrent\' \'torrent\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr info" json' -l 'json' -d 'Print one JSON object instead of text.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr info" v verbosity' -s 'v' -l 'verbosity' -d 'Verbosity: 0 quiet, 1 info, 2 debug, 3 trace.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr info" log-format' -l 'log-format' -d 'Log line format: text or json (default: text on a terminal, json otherwise).' -rfka 'json text'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr info" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr info" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" listen' -l 'listen' -d 'Address and port to listen on.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" interval' -l 'interval' -d 'Seconds between a peer\'s announces.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" peer-timeout' -l 'peer-timeout' -d 'Seconds before a silent peer is dropped.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" whitelist' -l 'whitelist' -d 'Track only the torrents whose .mtorrent/.torrent is in this directory.' -rfa '(__microtorr_complete_directories)'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" max-peers-per-swarm' -l 'max-peers-per-swarm' -d 'Most peers listed per torrent.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" max-swarms' -l 'max-swarms' -d 'Most torrents tracked at once.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" max-connections' -l 'max-connections' -d 'Most connections held at once; past it the least recently active is closed (bounds descriptors under a flood).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" threads' -l 'threads' -d 'Event loop threads (default: all cores).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" v verbosity' -s 'v' -l 'verbosity' -d 'Verbosity: 0 quiet, 1 info, 2 debug, 3 trace.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" log-format' -l 'log-format' -d 'Log line format: text or json (default: text on a terminal, json otherwise).' -rfka 'json text'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr tracker" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr download" -eq 1' -fa '(set -l exts \'mtorrent\' \'torrent\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" s seed' -s 's' -l 'seed' -d 'Seed this existing file or directory (verified first).' -rF
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" o output' -s 'o' -l 'output' -d 'Directory to download into (default: current).' -rfa '(__microtorr_complete_directories)'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" i interface' -s 'i' -l 'interface' -d 'Bind to this interface\'s IPv4 address and announce it.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" p port' -s 'p' -l 'port' -d 'Port to listen on for peers (default: any free port).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" u upload-limit' -s 'u' -l 'upload-limit' -d 'Upload limit in kB/s (1 kB = 1000 bytes; 0 = unlimited).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" d download-limit' -s 'd' -l 'download-limit' -d 'Download limit in kB/s (1 kB = 1000 bytes; 0 = unlimited).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" wait-seeders' -l 'wait-seeders' -d 'Request nothing until the swarm has this many seeders.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" wait-leechers' -l 'wait-leechers' -d 'Request nothing until the swarm has this many other leechers.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download"' -l 'peer' -d 'Connect to this peer (HOST:PORT); may repeat.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" tracker' -l 'tracker' -d 'Use this tracker instead of the ones in the file.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" exit-on-complete' -l 'exit-on-complete' -d 'Exit once the download is complete instead of seeding.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" max-peers' -l 'max-peers' -d 'Most peer connections.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" v verbosity' -s 'v' -l 'verbosity' -d 'Verbosity: 0 quiet, 1 info, 2 debug, 3 trace.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" log-format' -l 'log-format' -d 'Log line format: text or json (default: text on a terminal, json otherwise).' -rfka 'json text'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr download" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr demo" size' -l 'size' -d 'Size of the random file in MB (1 MB = 1 000 000 bytes).' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr demo" seeder-rate u' -s 'u' -l 'seeder-rate' -d 'The seeder\'s upload limit in kB/s.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr demo" keep' -l 'keep' -d 'Keep the temporary directory (its path is printed).'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr demo" v verbosity' -s 'v' -l 'verbosity' -d 'Verbosity: 0 quiet, 1 info, 2 debug, 3 trace.' -rfka ''
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr demo" log-format' -l 'log-format' -d 'Log line format: text or json (default: text on a terminal, json otherwise).' -rfka 'json text'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr demo" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr demo" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr daemon" config' -l 'config' -d 'The YAML file (default: /etc/microtorr/microtorr.yaml if it exists, else a local default under ./microtorr-data).' -rfa '(set -l exts \'yaml\' \'yml\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr daemon" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr daemon" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr check-config" config' -l 'config' -d 'The YAML file (default: /etc/microtorr/microtorr.yaml).' -rfa '(set -l exts \'yaml\' \'yml\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr check-config" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr check-config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_positional "microtorr completion" -eq 1' -fka 'bash zsh fish'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr completion" version' -l 'version' -d 'Show the version.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr completion" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'microtorr' -n '__microtorr_should_offer_completions_for_flags_or_options "microtorr help" version' -l 'version' -d 'Show the version.'

# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_klog_global_optspecs
    string join \n dir= q/quiet color= h/help V/version
end

function __fish_klog_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_klog_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_klog_using_subcommand
    set -l cmd (__fish_klog_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c klog -n "__fish_klog_needs_command" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_needs_command" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_needs_command" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_needs_command" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_needs_command" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_needs_command" -f -a "topics" -d 'Create, list, describe, alter and delete topics'
complete -c klog -n "__fish_klog_needs_command" -f -a "produce" -d 'Append records from stdin or files to a topic'
complete -c klog -n "__fish_klog_needs_command" -f -a "consume" -d 'Print a topic\'s records'
complete -c klog -n "__fish_klog_needs_command" -f -a "groups" -d 'List, describe, reset and delete consumer groups'
complete -c klog -n "__fish_klog_needs_command" -f -a "completions" -d 'Print shell completions for bash, zsh, fish, elvish or powershell'
complete -c klog -n "__fish_klog_needs_command" -f -a "man" -d 'Write the man pages to a directory'
complete -c klog -n "__fish_klog_needs_command" -f -a "__complete-names" -d 'List topic or group names for the shell completions'
complete -c klog -n "__fish_klog_needs_command" -f -a "segments" -d 'List, dump, roll and verify segments (klog\'s or a Kafka broker\'s)'
complete -c klog -n "__fish_klog_needs_command" -f -a "trim" -d 'Move a topic\'s log start offset up (Kafka\'s delete-records)'
complete -c klog -n "__fish_klog_needs_command" -f -a "clean" -d 'Apply retention (retention.ms, retention.bytes) and compaction now'
complete -c klog -n "__fish_klog_needs_command" -f -a "serve" -d 'Serve the data directory to Kafka clients (a single-node Kafka broker)'
complete -c klog -n "__fish_klog_needs_command" -f -a "mirror" -d 'Copy topics to or from a Kafka cluster over Kafka\'s protocol'
complete -c klog -n "__fish_klog_needs_command" -f -a "users" -d 'Add, list and delete the SASL users of `klog serve`'
complete -c klog -n "__fish_klog_needs_command" -f -a "acls" -d 'Add, list and remove the ACLs `klog serve` checks once users exist'
complete -c klog -n "__fish_klog_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "create" -d 'Create a topic'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "list" -d 'List topics with their size, record count, retention and cleanup policy'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "describe" -d 'Show a topic\'s partitions (offsets, size, segments, timestamps) and configs'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "alter" -d 'Add partitions or change configs'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "delete" -d 'Delete topics and all their data'
complete -c klog -n "__fish_klog_using_subcommand topics; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -s p -l partitions -d 'Number of partitions' -r
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -s c -l config -d 'A topic config, Kafka\'s names (repeatable), e.g. -c retention.ms=3600000' -r
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -l if-not-exists -d 'Succeed without changes if the topic already exists'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from list" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from list" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document instead of a table'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from describe" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from describe" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from describe" -l json -d 'Print one JSON document instead of tables'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from describe" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from describe" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -s p -l partitions -d 'New partition count (partitions can only grow)' -r
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -s c -l config -d 'Set a config (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -l delete-config -d 'Remove a config override, back to its default (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from alter" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from delete" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from delete" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a topic'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "list" -d 'List topics with their size, record count, retention and cleanup policy'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Show a topic\'s partitions (offsets, size, segments, timestamps) and configs'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "alter" -d 'Add partitions or change configs'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete topics and all their data'
complete -c klog -n "__fish_klog_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand produce" -s p -l partition -d 'Write every record to this partition instead of choosing by key' -r
complete -c klog -n "__fish_klog_using_subcommand produce" -s k -l key -d 'Use this key for every record' -r
complete -c klog -n "__fish_klog_using_subcommand produce" -s K -l key-separator -d 'Split each record at the first SEP into key and value (escapes: \\t \\n \\0 \\xNN)' -r
complete -c klog -n "__fish_klog_using_subcommand produce" -s H -l header -d 'Add this header to every record (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand produce" -s D -l delimiter -d 'Record delimiter instead of newline (escapes: \\t \\n \\0 \\xNN)' -r
complete -c klog -n "__fish_klog_using_subcommand produce" -l null-marker -d 'A key or value equal to STR is null (a value of null is a tombstone)' -r
complete -c klog -n "__fish_klog_using_subcommand produce" -l partitions -d 'Partitions of the topic if this command creates it (default 1); for a topic that exists, N must be its partition count (`klog topics alter` adds partitions)' -r
complete -c klog -n "__fish_klog_using_subcommand produce" -l compression -d 'Compress batches with this codec (default: the topic\'s compression.type, else none)' -r -f -a "none\t''
gzip\t''
snappy\t''
lz4\t''
zstd\t''"
complete -c klog -n "__fish_klog_using_subcommand produce" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand produce" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand produce" -s 0 -l null -d 'Records are separated by NUL bytes (like find -print0)'
complete -c klog -n "__fish_klog_using_subcommand produce" -l raw -d 'Each file (or all of stdin) is one record, byte for byte'
complete -c klog -n "__fish_klog_using_subcommand produce" -l json -d 'Each line is a JSON object as `klog consume --json` prints it'
complete -c klog -n "__fish_klog_using_subcommand produce" -l skip-invalid -d 'Report invalid records on stderr and go on instead of stopping'
complete -c klog -n "__fish_klog_using_subcommand produce" -l no-create -d 'Fail instead of creating a missing topic'
complete -c klog -n "__fish_klog_using_subcommand produce" -l ignore-partition -d 'With --json: choose each record\'s partition by its key (Kafka\'s partitioner), ignoring the "partition" field, e.g. to copy a topic into one with more partitions'
complete -c klog -n "__fish_klog_using_subcommand produce" -l sync -d 'fsync every batch right after appending it, before appending the next'
complete -c klog -n "__fish_klog_using_subcommand produce" -s v -l verbose -d 'Print a summary on stderr: records and bytes written, and for each partition written to, its records\' count and first and last offset'
complete -c klog -n "__fish_klog_using_subcommand produce" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand produce" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klog -n "__fish_klog_using_subcommand produce" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand consume" -s o -l offset -d 'Where to start: beginning, end, an offset N, -N (N records before the end of each partition), or @TIME (first record at or after TIME: RFC 3339, epoch ms, or relative such as @-1h)' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -s u -l until -d 'Where to stop (exclusive): end, an offset N, or @TIME' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -s n -s c -l count -l max-messages -d 'Stop after N records in all (-c as in kcat, --max-messages as in kafka-console-consumer)' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -s p -l partition -d 'Read only this partition (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -s K -l key-separator -d 'Print the key, SEP, then the value (escapes: \\t \\n \\0 \\xNN)' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -s D -l delimiter -d 'Print DELIM after each record instead of a newline, in the default and -K output (kcat\'s -D; escapes: \\t \\n \\0 \\xNN)' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -s F -l format -d 'Output format with kcat\'s tokens: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), %h headers, %K/%S key/value length, %% a percent sign; escapes \\n \\t' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -l null-literal -d 'Print null keys and values as STR in text output (default: nothing)' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -s g -l group -d 'Consume as a member of this group (any non-empty id, as in Kafka): start at its committed offsets, commit what was printed, and share the partitions with the group\'s other live members' -r
complete -c klog -n "__fish_klog_using_subcommand consume" -l reset -d 'Where a group starts on a partition it has no committed offset for, or whose committed offset lies outside the log (Kafka\'s auto.offset.reset; a warning names the partition)' -r -f -a "earliest\t''
latest\t''"
complete -c klog -n "__fish_klog_using_subcommand consume" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand consume" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand consume" -l from-beginning -d 'Same as --offset beginning'
complete -c klog -n "__fish_klog_using_subcommand consume" -s e -l exit -d 'Exit at the end of the log (kcat\'s -e): what consume does without --follow'
complete -c klog -n "__fish_klog_using_subcommand consume" -s f -l follow -d 'Keep waiting for new records, like tail -f'
complete -c klog -n "__fish_klog_using_subcommand consume" -l json -d 'One JSON object per record and line (bytes that are not UTF-8 as {"base64": …})'
complete -c klog -n "__fish_klog_using_subcommand consume" -l no-commit -d 'Read with the group\'s offsets and partition sharing, but commit nothing'
complete -c klog -n "__fish_klog_using_subcommand consume" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand consume" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand consume" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -f -a "list" -d 'List consumer groups with their topics, live members and total lag (klog\'s, and a Kafka broker\'s from its __consumer_offsets topic)'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -f -a "describe" -d 'Show a group\'s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -f -a "reset" -d 'Move a group\'s committed offsets (refused while a member owns an affected partition)'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -f -a "delete" -d 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)'
complete -c klog -n "__fish_klog_using_subcommand groups; and not __fish_seen_subcommand_from list describe reset delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from list" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from list" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document instead of a table'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from describe" -l topic -d 'Only this topic' -r
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from describe" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from describe" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from describe" -l json -d 'Print one JSON document instead of a table'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from describe" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from describe" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l topic -d 'Topic whose offsets to move' -r
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -s p -l partition -d 'Only this partition (repeatable; default: all)' -r
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l to-offset -d 'To this offset; past the log end it goes to the log end, below the log start to the log start (as Kafka\'s tool does), with a note' -r
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l to-time -d 'To the first record at or after TIME (RFC 3339, epoch ms, or relative such as -1h, -1h30m)' -r
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l by-duration -d 'To the first record at or after now minus DURATION: ISO 8601 as Kafka\'s tool takes it (PT1H, P1DT2H, PT0.5S), or 30m, 1h30m, 2d' -r
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l shift-by -d 'Move by N records (negative: back), kept within the log' -r
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l to-earliest -d 'To the log start offset'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l to-latest -d 'To the log end offset (skip everything there is)'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l dry-run -d 'Show the old and new offsets without changing anything'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -l json -d 'Print one JSON document instead of a table'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from reset" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from delete" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from delete" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "list" -d 'List consumer groups with their topics, live members and total lag (klog\'s, and a Kafka broker\'s from its __consumer_offsets topic)'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Show a group\'s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Move a group\'s committed offsets (refused while a member owns an affected partition)'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)'
complete -c klog -n "__fish_klog_using_subcommand groups; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand completions" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand completions" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand completions" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand completions" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand completions" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand man" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand man" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand man" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand man" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand man" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand __complete-names" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand __complete-names" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand __complete-names" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand __complete-names" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand __complete-names" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -f -a "list" -d 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -f -a "dump" -d 'Print batches (and with --records, records) of segments, like kafka-dump-log'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -f -a "roll" -d 'Close the active segment now and start a new one'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -f -a "verify" -d 'Check every batch, offset and index entry; --repair cuts damage without moving offsets'
complete -c klog -n "__fish_klog_using_subcommand segments; and not __fish_seen_subcommand_from list dump roll verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from list" -s p -l partition -d 'Only this partition (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from list" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from list" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document instead of a table'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -s p -l partition -d 'Only this partition of a topic (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -l offset -d 'Start at the batch holding this offset (found through the offset index)' -r
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -l max-bytes -d 'Read at most this many bytes of each log file' -r
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -l records -l print-data-log -d 'Also print every record (key, value, headers)'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -l json -d 'One JSON object per batch (or index entry) and line'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -l offsets-decoder -d 'Decode records as the group coordinator\'s (__consumer_offsets) offset commits and group metadata (automatic for __consumer_offsets partitions)'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from dump" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from roll" -s p -l partition -d 'Only this partition (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from roll" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from roll" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from roll" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from roll" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from roll" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -s p -l partition -d 'Only this partition of a topic (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -l repair -d 'Cut damaged tails and regions (valid batches after them keep their offsets in a new segment) and rebuild damaged indexes'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -l json -d 'Print one JSON document'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from help" -f -a "list" -d 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from help" -f -a "dump" -d 'Print batches (and with --records, records) of segments, like kafka-dump-log'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from help" -f -a "roll" -d 'Close the active segment now and start a new one'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check every batch, offset and index entry; --repair cuts damage without moving offsets'
complete -c klog -n "__fish_klog_using_subcommand segments; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand trim" -l before -d 'New log start offset: an offset, or @TIME (the first record at or after TIME)' -r
complete -c klog -n "__fish_klog_using_subcommand trim" -s p -l partition -d 'Only this partition (repeatable)' -r
complete -c klog -n "__fish_klog_using_subcommand trim" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand trim" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand trim" -l json -d 'Print one JSON document'
complete -c klog -n "__fish_klog_using_subcommand trim" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand trim" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand trim" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand clean" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand clean" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand clean" -l dry-run -d 'Show what would be deleted without deleting anything'
complete -c klog -n "__fish_klog_using_subcommand clean" -l json -d 'Print one JSON document'
complete -c klog -n "__fish_klog_using_subcommand clean" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand clean" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand clean" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand serve" -l listen -d 'Address to listen on, with an optional security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (repeatable; port 0 picks a free port)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l advertised-listener -d 'Address given to clients in metadata, one per --listen in the same order (default: the listener\'s own address)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l tls-cert -d 'PEM certificate chain of the SSL and SASL_SSL listeners' -r -F
complete -c klog -n "__fish_klog_using_subcommand serve" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c klog -n "__fish_klog_using_subcommand serve" -l tls-client-ca -d 'PEM CA certificates: TLS clients must present a certificate it signed (mutual TLS)' -r -F
complete -c klog -n "__fish_klog_using_subcommand serve" -l max-connections -d 'Connections open at once; more are closed as they come (Kafka\'s max.connections)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l max-connections-per-ip -d 'Connections open at once from one address (Kafka\'s max.connections.per.ip)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l producer-byte-rate -d 'Produce bytes per second per user; more is throttled (Kafka\'s producer_byte_rate)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l consumer-byte-rate -d 'Fetched bytes per second per user; more is throttled (Kafka\'s consumer_byte_rate)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l auto-create-topics -d 'Create a missing topic when a client asks for it (Kafka\'s auto.create.topics.enable)' -r -f -a "true\t''
false\t''"
complete -c klog -n "__fish_klog_using_subcommand serve" -l default-partitions -d 'Partitions of a topic created without a count (Kafka\'s num.partitions)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l group-initial-rebalance-delay-ms -d 'Delay before a new consumer group\'s first rebalance completes (Kafka\'s group.initial.rebalance.delay.ms)' -r
complete -c klog -n "__fish_klog_using_subcommand serve" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand serve" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand serve" -l allow-insecure-listener -d 'Allow a listener on an address other than loopback without TLS and SASL'
complete -c klog -n "__fish_klog_using_subcommand serve" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand serve" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand serve" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -f -a "pull" -d 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets'
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -f -a "push" -d 'Copy local topics into a Kafka cluster, partition for partition, with their groups\' offsets'
complete -c klog -n "__fish_klog_using_subcommand mirror; and not __fish_seen_subcommand_from pull push help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l from -d 'Broker to pull from (repeatable or comma-separated: several bootstrap brokers)' -r
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l max-partition-fetch-bytes -d 'Most bytes fetched per partition per request (Kafka\'s max.partition.fetch.bytes)' -r
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l security-protocol -d 'Kafka\'s security.protocol' -r -f -a "PLAINTEXT\t''
SSL\t''
SASL_PLAINTEXT\t''
SASL_SSL\t''"
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l sasl-mechanism -d 'SASL mechanism' -r -f -a "PLAIN\t''
SCRAM-SHA-256\t''
SCRAM-SHA-512\t''"
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l sasl-username -d 'SASL user name (the password: KLOG_SASL_PASSWORD or --sasl-password-file)' -r
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l sasl-password-file -d 'File whose first line is the SASL password' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l tls-ca -d 'PEM CA certificates the brokers\' certificates must chain to [default: Mozilla\'s roots]' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l tls-cert -d 'PEM client certificate chain, for mutual TLS (with --tls-key)' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l client-config -d 'Kafka client.properties file (security.protocol, sasl.*, ssl.* as PEM); flags override it' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l all -d 'Pull every topic of the source (not its internal ones)'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -s f -l follow -d 'Keep following the source until Ctrl-C or SIGTERM'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l truncate-on-divergence -d 'On divergence, cut the local log back to the last batch the source has too'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l verify -d 'After copying, check each partition\'s last batch against the source\'s'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l dry-run -d 'Print what would be created and copied; change nothing'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -l json -d 'Print the summary as JSON on stdout'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from pull" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l to -d 'Broker of the cluster to push to (repeatable or comma-separated)' -r
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l security-protocol -d 'Kafka\'s security.protocol' -r -f -a "PLAINTEXT\t''
SSL\t''
SASL_PLAINTEXT\t''
SASL_SSL\t''"
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l sasl-mechanism -d 'SASL mechanism' -r -f -a "PLAIN\t''
SCRAM-SHA-256\t''
SCRAM-SHA-512\t''"
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l sasl-username -d 'SASL user name (the password: KLOG_SASL_PASSWORD or --sasl-password-file)' -r
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l sasl-password-file -d 'File whose first line is the SASL password' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l tls-ca -d 'PEM CA certificates the brokers\' certificates must chain to [default: Mozilla\'s roots]' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l tls-cert -d 'PEM client certificate chain, for mutual TLS (with --tls-key)' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l client-config -d 'Kafka client.properties file (security.protocol, sasl.*, ssl.* as PEM); flags override it' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l all -d 'Push every local topic'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -s f -l follow -d 'Keep pushing what is appended until Ctrl-C or SIGTERM'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l groups -d 'Commit the local consumer groups\' offsets on the cluster, translated'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l dry-run -d 'Print what would be created and sent; change nothing'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -l json -d 'Print the summary as JSON on stdout'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from push" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "pull" -d 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "push" -d 'Copy local topics into a Kafka cluster, partition for partition, with their groups\' offsets'
complete -c klog -n "__fish_klog_using_subcommand mirror; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -f -a "add" -d 'Add a user, or change its password'
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -f -a "list" -d 'List the users and their mechanisms'
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -f -a "delete" -d 'Delete a user'
complete -c klog -n "__fish_klog_using_subcommand users; and not __fish_seen_subcommand_from add list delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from add" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from add" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from list" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from list" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from delete" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from delete" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a user, or change its password'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the users and their mechanisms'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a user'
complete -c klog -n "__fish_klog_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Allow a user an operation on a topic, a group or the cluster'
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List the rules'
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Remove a rule'
complete -c klog -n "__fish_klog_using_subcommand acls; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -l topic -d 'The topic (a name, `*`, or with --prefixed a prefix)' -r
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -l group -d 'The consumer group (a name, `*`, or with --prefixed a prefix)' -r
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -l cluster -d 'The cluster (creating topics, the admin APIs, managing ACLs)'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -l prefixed -d 'The name is a prefix'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from list" -l user -d 'Only this user\'s rules' -r
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from list" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from list" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -l topic -d 'The topic (a name, `*`, or with --prefixed a prefix)' -r
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -l group -d 'The consumer group (a name, `*`, or with --prefixed a prefix)' -r
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -l dir -d 'Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)' -r -F
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -l color -d 'When to use colors (honours NO_COLOR)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -l cluster -d 'The cluster (creating topics, the admin APIs, managing ACLs)'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -l prefixed -d 'The name is a prefix'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print nothing but data and errors'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from help" -f -a "add" -d 'Allow a user an operation on a topic, a group or the cluster'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the rules'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a rule'
complete -c klog -n "__fish_klog_using_subcommand acls; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "topics" -d 'Create, list, describe, alter and delete topics'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "produce" -d 'Append records from stdin or files to a topic'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "consume" -d 'Print a topic\'s records'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "groups" -d 'List, describe, reset and delete consumer groups'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "completions" -d 'Print shell completions for bash, zsh, fish, elvish or powershell'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "man" -d 'Write the man pages to a directory'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "__complete-names" -d 'List topic or group names for the shell completions'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "segments" -d 'List, dump, roll and verify segments (klog\'s or a Kafka broker\'s)'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "trim" -d 'Move a topic\'s log start offset up (Kafka\'s delete-records)'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "clean" -d 'Apply retention (retention.ms, retention.bytes) and compaction now'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "serve" -d 'Serve the data directory to Kafka clients (a single-node Kafka broker)'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "mirror" -d 'Copy topics to or from a Kafka cluster over Kafka\'s protocol'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "users" -d 'Add, list and delete the SASL users of `klog serve`'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "acls" -d 'Add, list and remove the ACLs `klog serve` checks once users exist'
complete -c klog -n "__fish_klog_using_subcommand help; and not __fish_seen_subcommand_from topics produce consume groups completions man __complete-names segments trim clean serve mirror users acls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "create" -d 'Create a topic'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "list" -d 'List topics with their size, record count, retention and cleanup policy'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "describe" -d 'Show a topic\'s partitions (offsets, size, segments, timestamps) and configs'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "alter" -d 'Add partitions or change configs'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "delete" -d 'Delete topics and all their data'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "list" -d 'List consumer groups with their topics, live members and total lag (klog\'s, and a Kafka broker\'s from its __consumer_offsets topic)'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "describe" -d 'Show a group\'s offsets, lag and owning member per partition (a committed offset outside the log is flagged: the next member starts where its --reset says)'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "reset" -d 'Move a group\'s committed offsets (refused while a member owns an affected partition)'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from groups" -f -a "delete" -d 'Delete a group: its committed offsets and its lock and member files (refused while it has live members, as in Kafka)'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from segments" -f -a "list" -d 'One row per segment: offsets, records, bytes, timestamps, index entries, active or closed'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from segments" -f -a "dump" -d 'Print batches (and with --records, records) of segments, like kafka-dump-log'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from segments" -f -a "roll" -d 'Close the active segment now and start a new one'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from segments" -f -a "verify" -d 'Check every batch, offset and index entry; --repair cuts damage without moving offsets'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from mirror" -f -a "pull" -d 'Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from mirror" -f -a "push" -d 'Copy local topics into a Kafka cluster, partition for partition, with their groups\' offsets'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "add" -d 'Add a user, or change its password'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "list" -d 'List the users and their mechanisms'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "delete" -d 'Delete a user'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from acls" -f -a "add" -d 'Allow a user an operation on a topic, a group or the cluster'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from acls" -f -a "list" -d 'List the rules'
complete -c klog -n "__fish_klog_using_subcommand help; and __fish_seen_subcommand_from acls" -f -a "remove" -d 'Remove a rule'

# Topic and group names come from the data directory of the command line (--dir, else $KLOG_DIR,
# else the default): `klog __complete-names` says where one is expected and lists them.
function __fish_klog_names
    set -l current (commandline -ct)
    klog __complete-names auto -- (commandline -opc) "$current" 2>/dev/null
end
complete -c klog -n '__fish_klog_names >/dev/null' -f -a '(__fish_klog_names)'

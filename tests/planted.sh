# planted.sh - the planted-synonym corpus and its check, shared by cli_test.sh and mpi_test.sh
# (sourced; count_partners uses $FIRTH).
#
# A corpus with planted synonyms: pair g's two words a<g> and b<g> are interchangeable (they occur
# in the same contexts with the same distribution); each pair has its own 10 context words drawn
# from a shared pool (default 300), so context words mix many pairs. A correct word2vec makes b<g>
# the nearest neighbour of a<g>. count_partners prints how many of the pairs have their partner as
# nearest neighbour (both directions).
make_planted() { # file pairs sentences_per_pair seed pool
    awk -v P="$2" -v S="$3" -v seed="$4" -v pool="${5:-300}" 'BEGIN {
        srand(seed)
        for (g = 0; g < P; g++) for (k = 0; k < 10; k++) ctx[g, k] = "c" int(rand() * pool)
        for (s = 0; s < S; s++) for (g = 0; g < P; g++) {
            pos = int(rand() * 7); line = ""
            for (i = 0; i < 7; i++) {
                if (i == pos) w = (rand() < 0.5 ? "a" : "b") g
                else w = ctx[g, int(rand() * 10)]
                line = line (i ? " " : "") w
            }
            print line
        }
    }' > "$1"
}
count_partners() { # model pairs
    n=0 g=0
    while [ "$g" -lt "$2" ]; do
        top=$("$FIRTH" neighbors "$1" "a$g" -k 1 | cut -f1)
        [ "$top" = "b$g" ] && n=$((n + 1))
        top=$("$FIRTH" neighbors "$1" "b$g" -k 1 | cut -f1)
        [ "$top" = "a$g" ] && n=$((n + 1))
        g=$((g + 1))
    done
    echo "$n"
}

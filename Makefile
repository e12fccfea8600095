# firth - word embeddings and small language models from raw text.
#
#   make            library (build/libfirth.a, build/libfirth.so) and CLI (build/firth)
#   make demo       installs what is missing, builds, trains on data/gutenberg-demo.txt.gz,
#                   shows neighbours and an analogy
#   make test       builds and runs every test; last line "N passed, N failed"
#   make SAN=1 ...  the same with AddressSanitizer + UndefinedBehaviorSanitizer (in build-san/)
#   make bench      the peer benchmark (bench/w2v_peers.sh; needs ../shared/data)
#   make fuzz       builds the libFuzzer targets (clang) into build-fuzz/ and runs each for
#                   FUZZ_SECONDS (default 60); docs/reliability.md
#
# Why make and not CMake: one small C tree, one platform (Debian), and the whole build fits on
# a screen; a generator would add a step and a dependency without buying anything here.

CC      ?= cc
ARCH    ?= -march=native
OPT     ?= -O3
SAN     ?=

ifeq ($(SAN),1)
BUILD   := build-san
# gcc's -fsanitize=undefined leaves out float-cast-overflow (clang's includes it); it found a
# real bug (cli_format_seconds), so it is named here
SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
OPT     := -O1 -g
else
BUILD   := build
SANFLAGS :=
endif

# OpenBLAS: pkg-config knows its include path (Debian: .../openblas-pthread); evaluated lazily so
# that `make demo` can install it first.
BLAS_CFLAGS = $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   = $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
# LAPACK through LAPACKE (Debian: liblapacke-dev) for the projector's PCA (src/embed/projector.c)
LAPACK_CFLAGS = $(shell pkg-config --cflags lapacke 2>/dev/null)
LAPACK_LIBS   = $(shell pkg-config --libs lapacke 2>/dev/null || echo -llapacke)

# MPI (Debian: libopenmpi-dev, openmpi-bin; scripts/deps.sh --mpi): when mpicc is found,
# src/dist/mpi.c (the only file that includes <mpi.h>) is built with FIRTH_WITH_MPI and everything
# links libmpi, so that `mpirun -np R build/firth train ...` trains on R processes; without it the
# same sources build a single-process firth. MPI=0 leaves MPI out even where it is installed.
# Evaluated lazily, like OpenBLAS's flags, so that `make test` can install it first.
MPI ?= auto
ifneq ($(MPI),0)
MPI_CFLAGS = $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   = $(shell mpicc --showme:link 2>/dev/null)
endif

CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter \
           $(OPT) $(ARCH) -fopenmp-simd -fPIC -pthread $(SANFLAGS) \
           -Iinclude -Isrc -I$(BUILD)/gen $(BLAS_CFLAGS) $(LAPACK_CFLAGS)
LDLIBS  += $(LAPACK_LIBS) $(BLAS_LIBS) $(MPI_LIBS) -lm -pthread
LDFLAGS += $(SANFLAGS)

LIB_SRC  := $(wildcard src/*/*.c)
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
# fuzz targets: every tests/fuzz/fuzz_NAME.c is one (docs/reliability.md); `make test` replays
# their committed corpus and regression inputs through build*/fuzz-replay/NAME
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)

.PHONY: all deps demo test check-deps clean bench fuzz fuzz-build FORCE
all: $(BUILD)/libfirth.a $(BUILD)/libfirth.so $(BUILD)/firth $(BUILD)/firth_tests $(FUZZ_REPLAY)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# the projector page (HTML, CSS, JavaScript) is edited as an HTML file and compiled in as a string
$(BUILD)/gen/projector_page.h: src/embed/projector_page.html scripts/embed_text.sh
	@mkdir -p $(dir $@)
	scripts/embed_text.sh $< projector_page > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/src/embed/projector.o: $(BUILD)/gen/projector_page.h

# MPI found or not: said on every build; mpi.o is rebuilt when the answer changes (the flags are
# kept in $(BUILD)/gen/mpi.flags, rewritten only when they differ)
$(BUILD)/obj/src/dist/mpi.o: CFLAGS += $(if $(MPI_LIBS),-DFIRTH_WITH_MPI $(MPI_CFLAGS))
$(BUILD)/obj/src/dist/mpi.o: $(BUILD)/gen/mpi.flags
$(BUILD)/gen/mpi.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MPI_CFLAGS) $(MPI_LIBS)' > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi
	@if [ -n "$(MPI_LIBS)" ]; then \
	    echo "MPI: yes, $$(mpirun --version 2>/dev/null | head -n 1) (mpirun -np R $(BUILD)/firth train ...)"; \
	elif [ "$(MPI)" = 0 ]; then echo "MPI: off (MPI=0; single-process build)"; \
	else echo "MPI: no (single-process build; scripts/deps.sh --mpi installs Open MPI)"; fi

$(BUILD)/libfirth.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/libfirth.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/firth: $(CLI_OBJ) $(BUILD)/libfirth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/firth_tests: $(TEST_OBJ) $(BUILD)/libfirth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz-replay/%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/obj/cli/cli.o \
                       $(BUILD)/libfirth.a $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Icli -Itests/fuzz $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(LDLIBS)

# libFuzzer builds: clang 14 with -fsanitize=fuzzer,address,undefined (Debian: clang,
# libclang-rt-14-dev; scripts/deps.sh --fuzz)
FUZZ_CC    ?= clang
FUZZ_BUILD := build-fuzz
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -O1 -g $(ARCH) \
              -pthread $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Iinclude -Isrc -Icli -Itests/fuzz \
              -I$(FUZZ_BUILD)/gen $(BLAS_CFLAGS) $(LAPACK_CFLAGS)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/cli/cli.o
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SECONDS ?= 60

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/gen/projector_page.h: src/embed/projector_page.html scripts/embed_text.sh
	@mkdir -p $(dir $@)
	scripts/embed_text.sh $< projector_page > $@.tmp && mv $@.tmp $@
$(FUZZ_BUILD)/obj/src/embed/projector.o: $(FUZZ_BUILD)/gen/projector_page.h

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

deps:
	@scripts/deps.sh

DEMO_TEXT := data/gutenberg-demo.txt.gz
demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/firth
	@mkdir -p $(BUILD)/demo
	gzip -dc $(DEMO_TEXT) > $(BUILD)/demo/corpus.txt
	$(BUILD)/firth train --input $(BUILD)/demo/corpus.txt --output $(BUILD)/demo/vectors.firth \
	    --lowercase --strip-punct --dim 100 --min-count 5 --epochs 10 --threads 2
	@echo
	$(BUILD)/firth neighbors $(BUILD)/demo/vectors.firth socrates -k 5
	@echo
	$(BUILD)/firth neighbors $(BUILD)/demo/vectors.firth gold -k 5
	@echo
	$(BUILD)/firth neighbors $(BUILD)/demo/vectors.firth father -k 5
	@echo
	$(BUILD)/firth analogy $(BUILD)/demo/vectors.firth man king woman -k 3

test: deps
	@$(MAKE) --no-print-directory all
	@FIRTH=$(BUILD)/firth FIRTH_TESTS=$(BUILD)/firth_tests sh tests/run.sh

bench: all
	bench/w2v_peers.sh

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(wildcard $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_BUILD)/obj/*/*/*.d)

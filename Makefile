# firth - word embeddings and small language models from raw text.
#
#   make            library (build/libfirth.a, build/libfirth.so) and CLI (build/firth)
#   make demo       installs what is missing, builds, trains on data/gutenberg-demo.txt.gz,
#                   shows neighbours and an analogy
#   make test       builds and runs every test; last line "N passed, N failed"
#   make SAN=1 ...  the same with AddressSanitizer + UndefinedBehaviorSanitizer (in build-san/)
#   make bench      the peer benchmark (bench/w2v_peers.sh; needs ../shared/data)
#
# Why make and not CMake: one small C tree, one platform (Debian), and the whole build fits on
# a screen; a generator would add a step and a dependency without buying anything here.

CC      ?= cc
ARCH    ?= -march=native
OPT     ?= -O3
SAN     ?=

ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
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

CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter \
           $(OPT) $(ARCH) -fopenmp-simd -fPIC -pthread $(SANFLAGS) \
           -Iinclude -Isrc -I$(BUILD)/gen $(BLAS_CFLAGS) $(LAPACK_CFLAGS)
LDLIBS  += $(LAPACK_LIBS) $(BLAS_LIBS) -lm -pthread
LDFLAGS += $(SANFLAGS)

LIB_SRC  := $(wildcard src/*/*.c)
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all deps demo test check-deps clean bench
all: $(BUILD)/libfirth.a $(BUILD)/libfirth.so $(BUILD)/firth $(BUILD)/firth_tests

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# the projector page (HTML, CSS, JavaScript) is edited as an HTML file and compiled in as a string
$(BUILD)/gen/projector_page.h: src/embed/projector_page.html scripts/embed_text.sh
	@mkdir -p $(dir $@)
	scripts/embed_text.sh $< projector_page > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/src/embed/projector.o: $(BUILD)/gen/projector_page.h

$(BUILD)/libfirth.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/libfirth.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/firth: $(CLI_OBJ) $(BUILD)/libfirth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/firth_tests: $(TEST_OBJ) $(BUILD)/libfirth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

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
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

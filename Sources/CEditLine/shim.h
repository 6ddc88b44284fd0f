// libedit's native API (histedit.h). el_set/history are variadic and so not callable
// from Swift: each use we need is wrapped in a fixed-signature inline function.
#ifndef LGC_CEDITLINE_SHIM_H
#define LGC_CEDITLINE_SHIM_H

#include <stdio.h>
#include <histedit.h>

typedef char *(*lgc_prompt_fn)(EditLine *);
typedef unsigned char (*lgc_key_fn)(EditLine *, int);
typedef int (*lgc_getc_fn)(EditLine *, wchar_t *);

static inline int lgc_el_set_prompt(EditLine *el, lgc_prompt_fn fn) { return el_set(el, EL_PROMPT, fn); }
static inline int lgc_el_set_editor(EditLine *el, const char *mode) { return el_set(el, EL_EDITOR, mode); }
static inline int lgc_el_set_signal(EditLine *el, int on) { return el_set(el, EL_SIGNAL, on); }
static inline int lgc_el_set_history(EditLine *el, History *h) { return el_set(el, EL_HIST, history, h); }
static inline int lgc_el_add_function(EditLine *el, const char *name, const char *help, lgc_key_fn fn) {
    return el_set(el, EL_ADDFN, name, help, fn);
}
static inline int lgc_el_bind(EditLine *el, const char *key, const char *function) {
    return el_set(el, EL_BIND, key, function, NULL);
}
// Our own character reader, so the editor can wait on the terminal and on auto mode's notices at once.
static inline int lgc_el_set_getcfn(EditLine *el, lgc_getc_fn fn) { return el_set(el, EL_GETCFN, fn); }
// Redraws the prompt and the line being typed from the cursor's row (after a notice was printed above it).
static inline int lgc_el_refresh(EditLine *el) { return el_set(el, EL_REFRESH); }
// Clear ISIG while editing so ^C arrives as a key we bind (abandon the line) instead of a signal.
static inline int lgc_el_edit_mode_without_isig(EditLine *el) {
    return el_set(el, EL_SETTY, "-d", "-isig", NULL);
}

static inline History *lgc_history_init(int size) {
    History *h = history_init();
    if (h) {
        HistEvent ev;
        history(h, &ev, H_SETSIZE, size);
        history(h, &ev, H_SETUNIQUE, 1);
    }
    return h;
}
static inline int lgc_history_enter(History *h, const char *line) { HistEvent ev; return history(h, &ev, H_ENTER, line); }
static inline int lgc_history_load(History *h, const char *path) { HistEvent ev; return history(h, &ev, H_LOAD, path); }
// Saving goes through a FILE* only: H_SAVE and H_SAVE_FP both chmod the file they write to 0600, so the shell
// has libedit write into a temporary file and copies the bytes to the user's file itself (see HistoryFile).
static inline int lgc_history_save_fp(History *h, FILE *fp) { HistEvent ev; return history(h, &ev, H_SAVE_FP, fp); }
static inline int lgc_history_count(History *h) { HistEvent ev; return history(h, &ev, H_GETSIZE) == 0 ? ev.num : 0; }
// Walks the history oldest first: 0 → first entry, then 1 → next; returns NULL at the end.
static inline const char *lgc_history_walk(History *h, int next) {
    HistEvent ev;
    int rc = history(h, &ev, next ? H_PREV : H_LAST);
    return rc == 0 ? ev.str : NULL;
}

#endif

/* Output path checks of the command-line programs (examples/cli_paths.c).
 *
 * Each test runs in a fresh directory of its own (the current directory during the test), so
 * relative paths such as "./a" mean the same in every test.  Those directories live in one
 * mkdtemp directory that main() removes at the end: Check skips a test's teardown when the test
 * fails, so removing them there alone would leave failed tests' files behind. */
#include "cli_paths.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PATH_MAX
#  define PATH_MAX 4096
#endif

#define TMP_PARENT "/tmp"
static char root_dir[] = TMP_PARENT "/test_cli_paths.XXXXXX"; /* holds every test's directory */
static char start_dir[PATH_MAX];                              /* the current directory at start */
static char tmp_dir[sizeof root_dir + 16];                    /* the running test's directory */
static char msg[1024];
static cli_path_set *paths;

/* --- helpers ------------------------------------------------------------------------------------ */

static void make_file(const char *path) {
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot create '%s': %s", path, strerror(errno));
    fputs("data\n", f);
    fclose(f);
}

static void make_dir(const char *path) {
    ck_assert_msg(mkdir(path, 0777) == 0, "cannot mkdir '%s': %s", path, strerror(errno));
}

static void make_symlink(const char *target, const char *path) {
    ck_assert_msg(symlink(target, path) == 0, "cannot symlink '%s': %s", path, strerror(errno));
}

static void add_input(const char *use, const char *path) {
    ck_assert_int_eq(cli_path_set_add(paths, CLI_PATH_INPUT, use, path), 0);
}

static void add_output(const char *use, const char *path) {
    ck_assert_int_eq(cli_path_set_add(paths, CLI_PATH_OUTPUT, use, path), 0);
}

static int check_paths(void) { return cli_path_set_check(paths, msg, sizeof msg); }

static void expect_ok(void) {
    ck_assert_msg(check_paths() == 0, "expected no problem, got: %s", msg);
    ck_assert_str_eq(msg, "");
}

static void expect_error(const char *expected_message) {
    ck_assert_msg(check_paths() == -1, "expected '%s', got success", expected_message);
    ck_assert_str_eq(msg, expected_message);
}

static void expect_error_containing(const char *part) {
    ck_assert_msg(check_paths() == -1, "expected an error containing '%s', got success", part);
    ck_assert_msg(strstr(msg, part) != NULL, "expected an error containing '%s', got '%s'", part, msg);
}

/* rm -r name (in the current directory), without following symlinks.  It works by changing
 * directory, so trees deeper than PATH_MAX (long_names_near_limits) go too. */
static void remove_tree(const char *name) {
    struct stat st;
    if (lstat(name, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(name);
        return;
    }
    chmod(name, 0700); /* a test may have made it read-only */
    if (chdir(name) != 0) return;
    DIR *dir = opendir(".");
    struct dirent *entry;
    while (dir && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) remove_tree(entry->d_name);
    }
    if (dir) closedir(dir);
    if (chdir("..") != 0) return;
    rmdir(name);
}

static void setup(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "%s/t.XXXXXX", root_dir);
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    ck_assert_int_eq(chdir(tmp_dir), 0);
    paths = cli_path_set_new();
    ck_assert_ptr_nonnull(paths);
    msg[0] = '\0';
}

static void teardown(void) {
    cli_path_set_free(paths);
    paths = NULL;
    if (chdir(root_dir) == 0) remove_tree(strrchr(tmp_dir, '/') + 1);
    if (chdir(start_dir) != 0) perror("chdir back");
}

/* --- clashes ------------------------------------------------------------------------------------ */

START_TEST(same_output_twice) {
    add_output("--out", "x.png");
    add_output("--save-depth", "x.png");
    expect_error("--save-depth 'x.png' is the same file as --out 'x.png'");
}
END_TEST

START_TEST(same_existing_output_twice) {
    make_file("x.png");
    add_output("--out", "x.png");
    add_output("--save-depth", "x.png");
    expect_error("--save-depth 'x.png' is the same file as --out 'x.png'");
}
END_TEST

START_TEST(output_same_as_input) {
    make_file("a.png");
    add_input("content", "a.png");
    add_output("--out", "a.png");
    expect_error("--out 'a.png' is the same file as content 'a.png'");
}
END_TEST

START_TEST(dot_slash_is_the_same_file) {
    make_file("a.png");
    add_input("content", "a.png");
    add_output("--out", "./a.png");
    expect_error("--out './a.png' is the same file as content 'a.png'");
}
END_TEST

START_TEST(dot_slash_new_outputs) {
    make_dir("o");
    add_output("--out", "./o/x.png");
    add_output("--save-depth", "o/x.png");
    expect_error("--save-depth 'o/x.png' is the same file as --out './o/x.png'");
}
END_TEST

START_TEST(dot_dot_is_the_same_file) {
    make_file("a.png");
    make_dir("d");
    add_input("style", "a.png");
    add_output("--out", "d/../a.png");
    expect_error("--out 'd/../a.png' is the same file as style 'a.png'");
}
END_TEST

START_TEST(absolute_and_relative_new_outputs) {
    char absolute[PATH_MAX];
    snprintf(absolute, sizeof absolute, "%s/x.png", tmp_dir);
    add_output("--out", absolute);
    add_output("--save-depth", "x.png");
    expect_error_containing("--save-depth 'x.png' is the same file as --out '/");
}
END_TEST

START_TEST(output_symlink_to_input) {
    make_file("a.png");
    make_symlink("a.png", "link.png");
    /* The output is added first, but it is still the one named first: it is what to change. */
    add_output("--out", "link.png");
    add_input("content", "a.png");
    expect_error("--out 'link.png' is the same file as content 'a.png'");
}
END_TEST

START_TEST(output_hard_link_to_input) {
    make_file("a.png");
    ck_assert_int_eq(link("a.png", "hard.png"), 0);
    add_input("content", "a.png");
    add_output("--out", "hard.png");
    expect_error("--out 'hard.png' is the same file as content 'a.png'");
}
END_TEST

START_TEST(new_outputs_via_symlinked_directory) {
    make_dir("real");
    make_symlink("real", "alias");
    add_output("--out", "real/x.png");
    add_output("--save-depth", "alias/x.png");
    expect_error("--save-depth 'alias/x.png' is the same file as --out 'real/x.png'");
}
END_TEST

START_TEST(missing_input_clashes_by_name) {
    add_input("content", "missing.png");
    add_output("--out", "./missing.png");
    expect_error("--out './missing.png' is the same file as content 'missing.png'");
}
END_TEST

START_TEST(dangling_symlink_output_is_its_target) {
    make_symlink("target.png", "dangling.png");
    add_output("--out", "dangling.png");
    add_output("--save-depth", "target.png");
    expect_error("--save-depth 'target.png' is the same file as --out 'dangling.png'");
}
END_TEST

START_TEST(dangling_symlink_chain_into_missing_dir) {
    /* dangling.png -> step.png -> nodir/x.png: the target's folder is missing, so the output is
     * known as the link itself; checking must neither crash nor lose it. */
    make_symlink("nodir/x.png", "step.png");
    make_symlink("step.png", "dangling.png");
    add_output("--out", "dangling.png");
    add_output("--save-depth", "./dangling.png");
    expect_error("--save-depth './dangling.png' is the same file as --out 'dangling.png'");
}
END_TEST

START_TEST(symlink_loop_output) {
    make_symlink("loop2", "loop1");
    make_symlink("loop1", "loop2");
    add_output("--out", "loop1");
    expect_error_containing("--out 'loop1': ");
}
END_TEST

START_TEST(clash_found_among_many) {
    char name[64];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "out%03d.png", i);
        add_output("--out", name);
    }
    add_output("--save-depth", "./out123.png");
    expect_error("--save-depth './out123.png' is the same file as --out 'out123.png'");
}
END_TEST

/* --- no clash ----------------------------------------------------------------------------------- */

START_TEST(distinct_files_are_fine) {
    make_file("a.png");
    make_file("b.png");
    make_file("old.png"); /* an existing output may be replaced */
    make_dir("sub");
    add_input("content", "a.png");
    add_input("style", "b.png");
    add_output("--out", "x.png");
    add_output("--save-depth", "sub/x.png");
    add_output("--save-mask", "old.png");
    expect_ok();
}
END_TEST

START_TEST(inputs_may_repeat) {
    make_file("s.png");
    add_input("style", "s.png");
    add_input("style", "./s.png");
    add_input("content", "s.png");
    add_output("--out", "x.png");
    expect_ok();
}
END_TEST

START_TEST(output_inside_input_directory) {
    /* An existing directory and a new name inside it must not compare equal by inode. */
    make_dir("d");
    add_input("--models", "d");
    add_input("--models", "d/.");
    add_output("--out", "d/x.png");
    expect_ok();
}
END_TEST

START_TEST(empty_set_is_fine) { expect_ok(); }
END_TEST

/* --- unusable outputs --------------------------------------------------------------------------- */

START_TEST(missing_directory) {
    add_output("--out", "nodir/x.png");
    expect_error("--out 'nodir/x.png': directory 'nodir' does not exist");
}
END_TEST

START_TEST(missing_absolute_directory) {
    char path[PATH_MAX];
    char expected[2 * PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/nodir/x.png", tmp_dir);
    snprintf(expected, sizeof expected, "--out '%s': directory '%s/nodir' does not exist", path, tmp_dir);
    add_output("--out", path);
    expect_error(expected);
}
END_TEST

START_TEST(directory_not_writable) {
    make_dir("ro");
    ck_assert_int_eq(chmod("ro", 0555), 0);
    add_output("--out", "ro/x.png");
    if (geteuid() == 0) {
        /* root may write anywhere: the check must simply pass */
        expect_ok();
        return;
    }
    expect_error_containing("--out 'ro/x.png': directory 'ro' is not writable: ");
}
END_TEST

START_TEST(directory_is_a_file) {
    /* fails for root too */
    make_file("file.txt");
    add_output("--out", "file.txt/x.png");
    expect_error("--out 'file.txt/x.png': 'file.txt' is not a directory");
}
END_TEST

START_TEST(directory_below_a_file) {
    make_file("file.txt");
    add_output("--out", "file.txt/sub/x.png");
    expect_error_containing("--out 'file.txt/sub/x.png': directory 'file.txt/sub': ");
}
END_TEST

START_TEST(output_is_existing_directory) {
    make_dir("d");
    add_output("--out", "d");
    expect_error("--out 'd' is a directory, not a file name");
}
END_TEST

START_TEST(output_is_existing_directory_with_slash) {
    make_dir("d");
    add_output("--out", "d/");
    expect_error("--out 'd/' is a directory, not a file name");
}
END_TEST

START_TEST(output_is_symlink_to_directory) {
    make_dir("d");
    make_symlink("d", "dl");
    add_output("--out", "dl");
    expect_error("--out 'dl' is a directory, not a file name");
}
END_TEST

START_TEST(new_output_ending_in_slash) {
    add_output("--out", "new/");
    expect_error("--out 'new/' ends in '/', so it names a directory, not a file");
}
END_TEST

START_TEST(empty_output) {
    add_output("--out", "");
    expect_error("--out '': empty file name");
}
END_TEST

START_TEST(empty_input) {
    add_input("style", "");
    expect_error("style '': empty file name");
}
END_TEST

START_TEST(first_problem_is_reported) {
    add_output("--out", "nodir/a.png");
    add_output("--save-depth", "");
    expect_error("--out 'nodir/a.png': directory 'nodir' does not exist");
}
END_TEST

/* --- long paths --------------------------------------------------------------------------------- */

static char *long_path(size_t length) {
    char *path = malloc(length + 1);
    ck_assert_ptr_nonnull(path);
    for (size_t i = 0; i < length; i++) path[i] = (i % 100 == 99) ? '/' : 'a';
    path[length] = '\0';
    return path;
}

START_TEST(too_long_output) {
    char *path = long_path(3 * PATH_MAX);
    add_output("--out", path);
    free(path);
    ck_assert_int_eq(check_paths(), -1);
    ck_assert_msg(strncmp(msg, "--out 'aaa", 10) == 0, "got '%s'", msg);
    ck_assert_uint_lt(strlen(msg), sizeof msg); /* cut to fit */
}
END_TEST

START_TEST(too_long_input) {
    char *path = long_path(3 * PATH_MAX);
    add_input("content", path);
    free(path);
    add_output("--out", "x.png");
    expect_ok();
}
END_TEST

START_TEST(long_names_near_limits) {
    /* Deep but legal: nested directories with long names, total length near PATH_MAX. */
    char path[PATH_MAX];
    char name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    path[0] = '\0';
    size_t length = 0;
    while (length + 2 * 202 + 16 < PATH_MAX) {
        length += (size_t)snprintf(path + length, sizeof path - length, "%s%s", length ? "/" : "", name);
        make_dir(path);
    }
    char out[PATH_MAX + 16], out_again[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/x.png", path);
    snprintf(out_again, sizeof out_again, "./%s/x.png", path);
    add_output("--out", out);
    add_output("--save-depth", out_again);
    ck_assert_int_eq(check_paths(), -1);
    ck_assert_msg(strncmp(msg, "--save-depth './nnn", 19) == 0, "got '%s'", msg);
}
END_TEST

/* --- API edges ---------------------------------------------------------------------------------- */

START_TEST(null_arguments) {
    ck_assert_int_eq(cli_path_set_add(NULL, CLI_PATH_OUTPUT, "--out", "x.png"), -1);
    /* NULL path: the option was not given */
    ck_assert_int_eq(cli_path_set_add(paths, CLI_PATH_OUTPUT, "--save-depth", NULL), 0);
    expect_ok();
    /* NULL use: named by role */
    ck_assert_int_eq(cli_path_set_add(paths, CLI_PATH_OUTPUT, NULL, "x.png"), 0);
    ck_assert_int_eq(cli_path_set_add(paths, CLI_PATH_INPUT, NULL, "x.png"), 0);
    expect_error("output 'x.png' is the same file as input 'x.png'");
    /* no room for a message */
    ck_assert_int_eq(cli_path_set_check(paths, NULL, 0), -1);
    ck_assert_int_eq(cli_path_set_check(paths, NULL, sizeof msg), -1);
    ck_assert_int_eq(cli_path_set_check(NULL, msg, sizeof msg), -1);
    ck_assert_str_eq(msg, "cannot check file paths: out of memory");
    cli_path_set_free(NULL);
}
END_TEST

START_TEST(small_message_buffer) {
    char small[8];
    memset(small, 'x', sizeof small);
    add_output("--out", "nodir/x.png");
    ck_assert_int_eq(cli_path_set_check(paths, small, sizeof small), -1);
    ck_assert_str_eq(small, "--out '");
}
END_TEST

START_TEST(unknown_role_is_remembered) {
    ck_assert_int_eq(cli_path_set_add(paths, (cli_path_role)7, "--out", "x.png"), -1);
    ck_assert_int_eq(check_paths(), -1);
    ck_assert_msg(strstr(msg, "unknown path role") != NULL, "got '%s'", msg);
}
END_TEST

START_TEST(check_is_repeatable) {
    make_file("a.png");
    add_input("content", "a.png");
    add_output("--out", "b.png");
    expect_ok();
    expect_ok();
    add_output("--save-depth", "./b.png");
    expect_error("--save-depth './b.png' is the same file as --out 'b.png'");
    expect_error("--save-depth './b.png' is the same file as --out 'b.png'");
}
END_TEST

/* --- suite -------------------------------------------------------------------------------------- */

static Suite *cli_paths_suite(void) {
    Suite *suite = suite_create("cli_paths");

    TCase *clashes = tcase_create("clashes");
    tcase_add_checked_fixture(clashes, setup, teardown);
    tcase_add_test(clashes, same_output_twice);
    tcase_add_test(clashes, same_existing_output_twice);
    tcase_add_test(clashes, output_same_as_input);
    tcase_add_test(clashes, dot_slash_is_the_same_file);
    tcase_add_test(clashes, dot_slash_new_outputs);
    tcase_add_test(clashes, dot_dot_is_the_same_file);
    tcase_add_test(clashes, absolute_and_relative_new_outputs);
    tcase_add_test(clashes, output_symlink_to_input);
    tcase_add_test(clashes, output_hard_link_to_input);
    tcase_add_test(clashes, new_outputs_via_symlinked_directory);
    tcase_add_test(clashes, missing_input_clashes_by_name);
    tcase_add_test(clashes, dangling_symlink_output_is_its_target);
    tcase_add_test(clashes, dangling_symlink_chain_into_missing_dir);
    tcase_add_test(clashes, symlink_loop_output);
    tcase_add_test(clashes, clash_found_among_many);
    suite_add_tcase(suite, clashes);

    TCase *fine = tcase_create("no clash");
    tcase_add_checked_fixture(fine, setup, teardown);
    tcase_add_test(fine, distinct_files_are_fine);
    tcase_add_test(fine, inputs_may_repeat);
    tcase_add_test(fine, output_inside_input_directory);
    tcase_add_test(fine, empty_set_is_fine);
    suite_add_tcase(suite, fine);

    TCase *unusable = tcase_create("unusable outputs");
    tcase_add_checked_fixture(unusable, setup, teardown);
    tcase_add_test(unusable, missing_directory);
    tcase_add_test(unusable, missing_absolute_directory);
    tcase_add_test(unusable, directory_not_writable);
    tcase_add_test(unusable, directory_is_a_file);
    tcase_add_test(unusable, directory_below_a_file);
    tcase_add_test(unusable, output_is_existing_directory);
    tcase_add_test(unusable, output_is_existing_directory_with_slash);
    tcase_add_test(unusable, output_is_symlink_to_directory);
    tcase_add_test(unusable, new_output_ending_in_slash);
    tcase_add_test(unusable, empty_output);
    tcase_add_test(unusable, empty_input);
    tcase_add_test(unusable, first_problem_is_reported);
    suite_add_tcase(suite, unusable);

    TCase *lengths = tcase_create("long paths");
    tcase_add_checked_fixture(lengths, setup, teardown);
    tcase_add_test(lengths, too_long_output);
    tcase_add_test(lengths, too_long_input);
    tcase_add_test(lengths, long_names_near_limits);
    suite_add_tcase(suite, lengths);

    TCase *api = tcase_create("api");
    tcase_add_checked_fixture(api, setup, teardown);
    tcase_add_test(api, null_arguments);
    tcase_add_test(api, small_message_buffer);
    tcase_add_test(api, unknown_role_is_remembered);
    tcase_add_test(api, check_is_repeatable);
    suite_add_tcase(suite, api);

    return suite;
}

int main(void) {
    if (!getcwd(start_dir, sizeof start_dir) || !mkdtemp(root_dir)) {
        perror("test_cli_paths: cannot make a temporary directory");
        return EXIT_FAILURE;
    }
    SRunner *runner = srunner_create(cli_paths_suite());
    srunner_run_all(runner, CK_ENV); /* CK_VERBOSITY=verbose lists each test */
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    if (chdir(TMP_PARENT) == 0) remove_tree(strrchr(root_dir, '/') + 1);
    if (chdir(start_dir) != 0) perror("test_cli_paths: chdir back");
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

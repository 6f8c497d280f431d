/* Protocol conformance: our .proto files, compiled by protoc into a
 * descriptor set, against the RustDesk field and enum tables in
 * test/data/protocol/{fields,enums}.tsv, in both directions. Every row of the
 * tables must exist in our protos with the same file, name, number, type,
 * label, kind and wire type; every field and enum value we define must be in
 * the tables, except rdesk extension fields numbered 4000-4099.
 *
 * Each mismatch is reported as its own failing test line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "util.h"
#include "google/protobuf/descriptor.pb-c.h"

#define EXT_MIN 4000
#define EXT_MAX 4099
#define MAX_MISMATCHES 400

/* One field or enum value, from the tables or from our descriptors. For enum
 * values only file, scope, name and number are used. */
struct item {
	char file[64];
	char scope[128]; /* message or enum, nested as "Outer.Inner" */
	char name[64];
	long number;
	char type[128];
	char label[80];
	char kind[16];
	long wire;
};

struct list {
	struct item *v;
	size_t n, cap;
};

struct report {
	char *msg[MAX_MISMATCHES];
	size_t n;
	size_t dropped;
};

static void list_add(struct list *l, const struct item *it)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *it;
}

static void list_free(struct list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void copy(char *dst, size_t sz, const char *src)
{
	rd_strlcpy(dst, src ? src : "", sz);
}

__attribute__((format(printf, 2, 3)))
static void report_add(struct report *r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (r->n == MAX_MISMATCHES) {
		r->dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	r->msg[r->n++] = s;
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->msg[i]);
	memset(r, 0, sizeof(*r));
}

/* ---- the tables ---- */

static const char *data_dir(char *buf, size_t sz)
{
	const char *top = getenv("RD_TOP");

	snprintf(buf, sz, "%s/test/data/protocol", top && *top ? top : ".");
	return buf;
}

/* Parse a TSV table: first line "# Source ...", second the column header
 * (first column "file"), then rows of ncol columns. */
static int load_tsv(const char *name, int ncol, struct list *out, char *err, size_t errsz)
{
	char dir[512], path[600], *text = NULL, *line, *save = NULL;
	size_t len, lineno = 0;
	bool header = false;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", data_dir(dir, sizeof(dir)), name);
	ret = rd_read_file(path, 4u << 20, &text, &len);
	if (ret != RD_OK) {
		snprintf(err, errsz, "cannot read %s: %s", path, rd_strerror(ret));
		return ret;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *col[8], *p = line;
		int n = 0;
		struct item it;

		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		while (n < 8) {
			col[n++] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (n != ncol || p) {
			snprintf(err, errsz, "%s line %zu: %d columns, want %d", name, lineno, n, ncol);
			ret = RD_ERR_PROTO;
			goto out;
		}
		if (!header) {
			if (strcmp(col[0], "file") != 0) {
				snprintf(err, errsz, "%s line %zu: no column header", name, lineno);
				ret = RD_ERR_PROTO;
				goto out;
			}
			header = true;
			continue;
		}
		memset(&it, 0, sizeof(it));
		copy(it.file, sizeof(it.file), col[0]);
		copy(it.scope, sizeof(it.scope), col[1]);
		copy(it.name, sizeof(it.name), col[2]);
		it.number = strtol(col[3], NULL, 10);
		if (ncol == 8) {
			copy(it.type, sizeof(it.type), col[4]);
			copy(it.label, sizeof(it.label), col[5]);
			copy(it.kind, sizeof(it.kind), col[6]);
			it.wire = strtol(col[7], NULL, 10);
		}
		list_add(out, &it);
	}
	ret = header ? RD_OK : RD_ERR_PROTO;
	if (!header)
		snprintf(err, errsz, "%s: no column header", name);
out:
	free(text);
	return ret;
}

/* ---- our descriptors ---- */

static const char *scalar_name(Google__Protobuf__FieldDescriptorProto__Type t)
{
	static const char *names[] = {
		[1] = "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool",
		"string", "group", "message", "bytes", "uint32", "enum", "sfixed32", "sfixed64",
		"sint32", "sint64",
	};
	return (unsigned)t < RD_ARRAY_LEN(names) && names[t] ? names[t] : "?";
}

static int wire_type(Google__Protobuf__FieldDescriptorProto__Type t)
{
	switch (t) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
		return 1;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
		return 5;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE:
		return 2;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP:
		return 3;
	default:
		return 0;
	}
}

static bool is_message_type(Google__Protobuf__FieldDescriptorProto__Type t)
{
	return t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE ||
		t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP;
}

/* ".hbb.Outer.Inner" -> "Outer.Inner" */
static const char *strip_package(const char *type_name, const char *package)
{
	size_t pl = strlen(package);

	if (type_name[0] == '.' && strncmp(type_name + 1, package, pl) == 0 && type_name[1 + pl] == '.')
		return type_name + pl + 2;
	return type_name;
}

struct walk {
	const char *file;
	const char *package;
	bool proto3;
	struct list *fields, *values;
};

static void walk_enum(const struct walk *w, const char *scope, const Google__Protobuf__EnumDescriptorProto *e)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s%s", scope, *scope ? "." : "", e->name);
	for (size_t i = 0; i < e->n_value; i++) {
		struct item it = { 0 };

		copy(it.file, sizeof(it.file), w->file);
		copy(it.scope, sizeof(it.scope), name);
		copy(it.name, sizeof(it.name), e->value[i]->name);
		it.number = e->value[i]->number;
		list_add(w->values, &it);
	}
}

static void field_item(const struct walk *w, const Google__Protobuf__DescriptorProto *m,
	const char *scope, const Google__Protobuf__FieldDescriptorProto *f, struct item *it)
{
	Google__Protobuf__FieldDescriptorProto__Type t = f->type;
	bool packable = wire_type(t) != 2 && !is_message_type(t);
	bool synthetic = f->has_proto3_optional && f->proto3_optional;

	memset(it, 0, sizeof(*it));
	copy(it->file, sizeof(it->file), w->file);
	copy(it->scope, sizeof(it->scope), scope);
	copy(it->name, sizeof(it->name), f->name);
	it->number = f->number;
	if (is_message_type(t) || t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM)
		copy(it->type, sizeof(it->type), strip_package(f->type_name ? f->type_name : "?", w->package));
	else
		copy(it->type, sizeof(it->type), scalar_name(t));
	copy(it->kind, sizeof(it->kind), is_message_type(t) ? "message" :
		t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM ? "enum" : "scalar");
	it->wire = wire_type(t);
	if (f->has_oneof_index && !synthetic && (size_t)f->oneof_index < m->n_oneof_decl) {
		snprintf(it->label, sizeof(it->label), "oneof:%s", m->oneof_decl[f->oneof_index]->name);
	} else if (f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED) {
		bool packed = f->options && f->options->has_packed ? f->options->packed : w->proto3;

		if (packable && packed) {
			copy(it->label, sizeof(it->label), "repeated(packed)");
			it->wire = 2;
		} else {
			copy(it->label, sizeof(it->label), "repeated");
		}
	} else if (f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED) {
		copy(it->label, sizeof(it->label), "required");
	} else {
		copy(it->label, sizeof(it->label), "optional");
	}
}

static void walk_message(const struct walk *w, const char *outer, const Google__Protobuf__DescriptorProto *m)
{
	char scope[128];

	snprintf(scope, sizeof(scope), "%s%s%s", outer, *outer ? "." : "", m->name);
	for (size_t i = 0; i < m->n_field; i++) {
		struct item it;

		field_item(w, m, scope, m->field[i], &it);
		list_add(w->fields, &it);
	}
	for (size_t i = 0; i < m->n_enum_type; i++)
		walk_enum(w, scope, m->enum_type[i]);
	for (size_t i = 0; i < m->n_nested_type; i++)
		walk_message(w, scope, m->nested_type[i]);
}

static int load_descriptors(struct list *fields, struct list *values, struct report *files,
	char *err, size_t errsz)
{
	const char *build = getenv("RD_BUILD");
	char path[512], *data = NULL;
	size_t len;
	Google__Protobuf__FileDescriptorSet *set;
	int ret;

	snprintf(path, sizeof(path), "%s/proto/descriptor.binpb", build && *build ? build : "build");
	ret = rd_read_file(path, 16u << 20, &data, &len);
	if (ret != RD_OK) {
		snprintf(err, errsz, "cannot read %s: %s", path, rd_strerror(ret));
		return ret;
	}
	set = google__protobuf__file_descriptor_set__unpack(NULL, len, (const uint8_t *)data);
	free(data);
	if (!set || set->n_file == 0) {
		snprintf(err, errsz, "%s is not a descriptor set", path);
		if (set)
			google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
		return RD_ERR_PROTO;
	}
	for (size_t i = 0; i < set->n_file; i++) {
		const Google__Protobuf__FileDescriptorProto *fd = set->file[i];
		struct walk w = { fd->name, fd->package ? fd->package : "", false, fields, values };

		w.proto3 = fd->syntax && strcmp(fd->syntax, "proto3") == 0;
		if (!fd->package || strcmp(fd->package, "hbb") != 0)
			report_add(files, "%s: package is '%s', want 'hbb'", fd->name, fd->package ? fd->package : "");
		if (!w.proto3)
			report_add(files, "%s: syntax is '%s', want 'proto3'", fd->name, fd->syntax ? fd->syntax : "proto2");
		for (size_t j = 0; j < fd->n_message_type; j++)
			walk_message(&w, "", fd->message_type[j]);
		for (size_t j = 0; j < fd->n_enum_type; j++)
			walk_enum(&w, "", fd->enum_type[j]);
	}
	google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
	return RD_OK;
}

/* ---- comparison ---- */

static const struct item *find(const struct list *l, const struct item *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].scope, key->scope) == 0 && strcmp(l->v[i].name, key->name) == 0)
			return &l->v[i];
	return NULL;
}

/* Every table row exists in ours with the same attributes. */
static void compare_rows(const struct list *table, const struct list *ours, bool fields,
	const char *tname, struct report *r)
{
	for (size_t i = 0; i < table->n; i++) {
		const struct item *t = &table->v[i], *o = find(ours, t);

		if (!o) {
			report_add(r, "%s: %s.%s = %ld is missing from our protos", tname, t->scope, t->name, t->number);
			continue;
		}
		if (strcmp(t->file, o->file) != 0)
			report_add(r, "%s: %s.%s is in %s, we have it in %s", tname, t->scope, t->name, t->file, o->file);
		if (t->number != o->number)
			report_add(r, "%s: %s.%s number %ld, ours %ld", tname, t->scope, t->name, t->number, o->number);
		if (!fields)
			continue;
		if (strcmp(t->type, o->type) != 0)
			report_add(r, "%s: %s.%s type %s, ours %s", tname, t->scope, t->name, t->type, o->type);
		if (strcmp(t->label, o->label) != 0)
			report_add(r, "%s: %s.%s label %s, ours %s", tname, t->scope, t->name, t->label, o->label);
		if (strcmp(t->kind, o->kind) != 0)
			report_add(r, "%s: %s.%s kind %s, ours %s", tname, t->scope, t->name, t->kind, o->kind);
		if (t->wire != o->wire)
			report_add(r, "%s: %s.%s wire type %ld, ours %ld", tname, t->scope, t->name, t->wire, o->wire);
	}
}

/* Everything we define is in the table (fields: rdesk extensions excepted). */
static void compare_ours(const struct list *ours, const struct list *table, bool fields,
	const char *tname, struct report *r)
{
	for (size_t i = 0; i < ours->n; i++) {
		const struct item *o = &ours->v[i];

		if (find(table, o))
			continue;
		if (fields && o->number >= EXT_MIN && o->number <= EXT_MAX)
			continue;
		if (fields && o->number >= EXT_MIN)
			report_add(r, "%s: %s.%s = %ld (%s) is not in %s and outside the extension range %d-%d",
				o->file, o->scope, o->name, o->number, o->type, tname, EXT_MIN, EXT_MAX);
		else
			report_add(r, "%s: %s.%s = %ld is not in %s", o->file, o->scope, o->name, o->number, tname);
	}
}

/* ---- tests ---- */

struct ctx {
	struct list tf, te, of, oe; /* table fields/enums, our fields/enums */
	char err[1200];
	int load_rc;
	struct report files, rows_f, ours_f, rows_e, ours_e;
};

static struct ctx C;

static void test_mismatch(void **state)
{
	fail_msg("%s", (const char *)*state);
}

static void test_load_failed(void **state)
{
	(void)state;
	fail_msg("%s", C.err);
}

static void test_passes(void **state)
{
	const struct report *r = *state;

	assert_int_equal(r->n + r->dropped, 0);
}

static void test_tables_sane(void **state)
{
	size_t ext = 0;

	(void)state;
	/* both tables have content, and both our files were walked */
	assert_true(C.tf.n > 500);
	assert_true(C.te.n > 150);
	assert_true(C.of.n >= C.tf.n);
	for (size_t i = 0; i < C.of.n; i++)
		ext += C.of.v[i].number >= EXT_MIN && C.of.v[i].number <= EXT_MAX;
	print_message("# %zu table fields, %zu table enum values, %zu rdesk extension fields\n",
		C.tf.n, C.te.n, ext);
}

/* The comparison itself notices drift: compare the table with altered copies
 * of itself (independent of the state of our protos). */
static void test_detects_drift(void **state)
{
	struct list t = { 0 }, ours = { 0 };
	struct report r = { 0 };
	struct item extra;

	(void)state;
	for (size_t i = 0; i < C.tf.n; i++) {
		list_add(&t, &C.tf.v[i]);
		list_add(&ours, &C.tf.v[i]);
	}
	compare_rows(&t, &ours, true, "fields.tsv", &r);
	compare_ours(&ours, &t, true, "fields.tsv", &r);
	assert_int_equal(r.n, 0);
	t.v[0].number += 1;
	copy(t.v[1].type, sizeof(t.v[1].type), "sint64");
	copy(t.v[2].label, sizeof(t.v[2].label), "repeated");
	t.v[3].wire = 5;
	copy(t.v[4].name, sizeof(t.v[4].name), "no_such_field");
	copy(t.v[5].kind, sizeof(t.v[5].kind), "enum");
	copy(t.v[6].file, sizeof(t.v[6].file), "other.proto");
	compare_rows(&t, &ours, true, "fields.tsv", &r);
	assert_int_equal(r.n, 7);
	report_free(&r);
	/* the renamed row: our original field is no longer in the table */
	compare_ours(&ours, &t, true, "fields.tsv", &r);
	assert_int_equal(r.n, 1);
	report_free(&r);
	/* an extension inside the range passes, one outside it does not */
	extra = C.tf.v[0];
	copy(extra.name, sizeof(extra.name), "rdesk_test");
	extra.number = EXT_MAX;
	list_add(&ours, &extra);
	copy(extra.name, sizeof(extra.name), "rdesk_test2");
	extra.number = EXT_MAX + 1;
	list_add(&ours, &extra);
	compare_ours(&ours, &C.tf, true, "fields.tsv", &r);
	assert_int_equal(r.n, 1);
	report_free(&r);
	/* enum values have no extension range */
	compare_ours(&ours, &C.tf, false, "enums.tsv", &r);
	assert_int_equal(r.n, 2);
	report_free(&r);
	list_free(&t);
	list_free(&ours);
}

static void add_check(struct CMUnitTest *tests, size_t *n, const char *name, struct report *r)
{
	if (r->n == 0 && r->dropped == 0) {
		tests[(*n)++] = (struct CMUnitTest){ name, test_passes, NULL, NULL, r };
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		tests[(*n)++] = (struct CMUnitTest){ r->msg[i], test_mismatch, NULL, NULL, r->msg[i] };
	if (r->dropped)
		tests[(*n)++] = (struct CMUnitTest){ "more mismatches not listed", test_mismatch, NULL, NULL,
			"more mismatches not listed" };
}

int main(void)
{
	struct CMUnitTest *tests = xcalloc(5 * (MAX_MISMATCHES + 1) + 8, sizeof(*tests));
	size_t n = 0;
	int rc;

	C.load_rc = load_tsv("fields.tsv", 8, &C.tf, C.err, sizeof(C.err));
	if (C.load_rc == RD_OK)
		C.load_rc = load_tsv("enums.tsv", 4, &C.te, C.err, sizeof(C.err));
	if (C.load_rc == RD_OK)
		C.load_rc = load_descriptors(&C.of, &C.oe, &C.files, C.err, sizeof(C.err));
	if (C.load_rc != RD_OK) {
		tests[n++] = (struct CMUnitTest){ "load tables and descriptor set", test_load_failed, NULL, NULL, NULL };
	} else {
		compare_rows(&C.tf, &C.of, true, "fields.tsv", &C.rows_f);
		compare_ours(&C.of, &C.tf, true, "fields.tsv", &C.ours_f);
		compare_rows(&C.te, &C.oe, false, "enums.tsv", &C.rows_e);
		compare_ours(&C.oe, &C.te, false, "enums.tsv", &C.ours_e);
		tests[n++] = (struct CMUnitTest){ "tables and descriptor set loaded", test_tables_sane, NULL, NULL, NULL };
		tests[n++] = (struct CMUnitTest){ "comparison detects drift", test_detects_drift, NULL, NULL, NULL };
		add_check(tests, &n, "both files are package hbb, proto3", &C.files);
		add_check(tests, &n, "every fields.tsv row matches our protos", &C.rows_f);
		add_check(tests, &n, "every field we define is in fields.tsv or an extension", &C.ours_f);
		add_check(tests, &n, "every enums.tsv row matches our protos", &C.rows_e);
		add_check(tests, &n, "every enum value we define is in enums.tsv", &C.ours_e);
	}
	rc = _cmocka_run_group_tests("proto_conformance", tests, n, NULL, NULL);
	report_free(&C.files);
	report_free(&C.rows_f);
	report_free(&C.ours_f);
	report_free(&C.rows_e);
	report_free(&C.ours_e);
	list_free(&C.tf);
	list_free(&C.te);
	list_free(&C.of);
	list_free(&C.oe);
	free(tests);
	return rc;
}

# proto: protoc-c turns our .proto files into C under $(B)/gen.
PROTO_SRC := proto/rendezvous.proto proto/message.proto
PROTO_C := $(patsubst proto/%.proto,$(B)/gen/%.pb-c.c,$(PROTO_SRC))
PROTO_H := $(PROTO_C:.c=.h)
PROTO_OBJ := $(PROTO_C:.c=.o)

$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h &: proto/%.proto | pc-check
	$(call msg,PROTOC,$<)
	@mkdir -p $(@D)
	$(Q)protoc-c -Iproto --c_out=$(B)/gen $<

$(B)/gen/.stamp: $(PROTO_C) $(PROTO_H)
	@touch $@

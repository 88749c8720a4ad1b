// The Session's buffer pool: storages given back are reused, storages still held elsewhere are not.
#include <doctest/doctest.h>

#include "engine/buffer_pool.h"

using namespace mq;

TEST_CASE("BufferPool reuses a storage given back, alone or in its tensor, unless someone still holds it") {
  BufferPool pool;
  Tensor a = pool.acquire(DType::f32, {64, 64});
  const void* data = a.raw();
  // what the Session does with an output buffer its executor replaced by a view of an operand
  std::shared_ptr<Storage> s = a.storage();
  a = Tensor();
  pool.release(std::move(s));
  Tensor b = pool.acquire(DType::f32, {4096});
  CHECK(b.raw() == data);
  // a storage a view still reads is not handed out again
  Tensor view = b.reshaped({64, 64});
  pool.release(b.storage());
  pool.release(std::move(b));
  Tensor c = pool.acquire(DType::f32, {64, 64});
  CHECK(c.raw() != data);
  CHECK(view.raw() == data);
}
